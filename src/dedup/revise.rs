//! Members whose text changed after they joined: a live blog that moved on
//! to another event, a corrected report, a teaser replaced by its article.
//! The member's old features leave its story and the article is decided
//! again as an arrival, against every story as it stands now (its own
//! without it): it stays, or goes to the story it now matches, or to a story
//! of its own. The refinement after it sees it as a new article.

use std::hash::{Hash, Hasher};

use super::window::{leave_story, resolve_in, WITHDRAWN};
use super::{DedupArticle, Engine, Evidence, StoryId, Target};

/// A hash of an article's title and text, as dedup reads them (in-process
/// only: never stored).
pub(super) fn article_hash(title: &str, text: &str) -> u64 {
    let mut h = fxhash::FxHasher64::default();
    (title, text).hash(&mut h);
    h.finish()
}

/// A revised member that changed story.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// The caller's article id.
    pub article: String,
    /// The story it leaves.
    pub from: StoryId,
    /// Where it goes (`New(0)`: a story of its own).
    pub to: Target,
    /// Why: the decision's layer, score and matched article.
    pub evidence: Evidence,
}

impl Engine {
    /// Takes in the new title and text of article `a`, a member of the
    /// window. When they changed, its features are replaced and it is decided
    /// again; when that moves it to another story, `commit` records the move
    /// and returns the story's id (the new one's, for `Target::New`). Returns
    /// whether the member's text changed (the window counts it as
    /// unrefined), and the move if there was one. When `commit` fails the
    /// article stays in its story, with its new features.
    pub fn revise_with<E>(
        &mut self,
        a: &DedupArticle,
        commit: impl FnOnce(&Revision) -> Result<StoryId, E>,
    ) -> Result<(bool, Option<Revision>), E> {
        let Some(seq) = self.live_member(&a.id) else {
            return Ok((false, None));
        };
        let hash = article_hash(&a.title, &a.text);
        if self.member(seq).is_none_or(|m| m.text_hash == hash) {
            return Ok((false, None));
        }
        let from = self.withdraw(seq);
        let p = self.prepare(a);
        let evidence = self.decide(&p);
        // Alone in its story, it has no story to leave.
        let to = match evidence.story {
            Some(s) => Target::Story(s),
            None if self.stories.contains_key(&from) => Target::New(0),
            None => Target::Story(from),
        };
        if to == Target::Story(from) {
            self.admit_as(p, from, false);
            return Ok((true, None));
        }
        let revision = Revision {
            article: a.id.clone(),
            from,
            to,
            evidence,
        };
        match commit(&revision) {
            Ok(story) => {
                self.admit_as(p, story, false);
                Ok((true, Some(revision)))
            }
            Err(e) => {
                self.admit_as(p, from, false);
                Err(e)
            }
        }
    }

    /// The newest member with article id `id` that is in a story.
    fn live_member(&self, id: &str) -> Option<u64> {
        let (i, _) = (self.members.iter().enumerate().rev())
            .find(|(_, m)| m.story != WITHDRAWN && &*m.id == id)?;
        Some(self.first_seq + i as u64)
    }

    /// Takes member `seq` out of its story and the URL index, and returns
    /// that story. It stays in the window until its turn to leave, and its
    /// MinHash bands stay as links of their chains (near-copy lookups pass
    /// over it).
    fn withdraw(&mut self, seq: u64) -> StoryId {
        let Some(i) = seq
            .checked_sub(self.first_seq)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < self.members.len())
        else {
            return WITHDRAWN;
        };
        let m = &self.members[i];
        let story = resolve_in(&self.aliases, m.story);
        leave_story(&mut self.stories, &self.aliases, m, seq);
        if let Some(c) = &m.canonical {
            if self.urls.get(c).is_some_and(|&(_, at)| at == seq) {
                self.urls.remove(c);
            }
        }
        self.members[i].story = WITHDRAWN;
        self.withdrawn += 1;
        story
    }
}
