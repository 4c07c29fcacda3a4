//! Members whose text changed after they joined: a live blog that moved on
//! to another event, a corrected report, a teaser replaced by its article.
//! The member leaves its story and is decided again as an arrival, against
//! every story as it stands now (its own without it): it stays, or goes to
//! the story it now matches, or to a story of its own. It keeps its place in
//! the window (its sequence number, its expiry); its features are replaced,
//! and the next refinement looks at it as at a new article.

use std::hash::Hasher;

use super::vectors::Shares;
use super::window::{leave_story, resolve_in, Guard, WITHDRAWN};
use super::{DedupArticle, Engine, Evidence, Prepared, StoryId, Target};

/// A hash of an article's title and text, as dedup reads them. Stored with
/// each item (`items.judged_hash`), so it must stay the same across builds:
/// FxHash has no random seed, and the bytes are fed by hand (std's `Hash` for
/// `str` may change between Rust releases).
pub fn article_hash(title: &str, text: &str) -> u64 {
    let mut h = fxhash::FxHasher64::default();
    for part in [title, text] {
        h.write(part.as_bytes());
        h.write_u8(0xff);
    }
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
    /// window. When they changed, it leaves its story and is decided again;
    /// when that moves it to another story, `commit` records the move and
    /// returns the story's id (the new one's, for `Target::New`). Returns
    /// whether the member's text changed (it then counts as unrefined), and
    /// the move if there was one. When `commit` fails the article stays in
    /// its story, with its new features.
    pub fn revise_with<E>(
        &mut self,
        a: &DedupArticle,
        commit: impl FnOnce(&Revision) -> Result<StoryId, E>,
    ) -> Result<(bool, Option<Revision>), E> {
        let Some(seq) = self.member_with_id(&a.id) else {
            return Ok((false, None));
        };
        let hash = article_hash(&a.title, &a.text);
        if self.member(seq).is_none_or(|m| m.text_hash == hash) {
            return Ok((false, None));
        }
        let from = self.leave(seq);
        let p = self.prepare(a);
        if seq < self.first_seq {
            // Its new date moved the window past it (a window shorter than
            // the date's step): it has left the window.
            return Ok((true, None));
        }
        let evidence = self.decide(&p);
        // Alone in its story, it has no story to leave.
        let to = match evidence.story {
            Some(s) => Target::Story(s),
            None if self.stories.contains_key(&from) => Target::New(0),
            None => Target::Story(from),
        };
        self.revised.push(seq);
        if to == Target::Story(from) {
            self.rejoin(seq, p, from);
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
                self.rejoin(seq, p, story);
                Ok((true, Some(revision)))
            }
            Err(e) => {
                self.rejoin(seq, p, from);
                // Judged again at the next pass.
                self.members[(seq - self.first_seq) as usize].text_hash = 0;
                Err(e)
            }
        }
    }

    /// Decides stored article `a` as an arrival, against every story as it
    /// stands: it was left out of the window read back because its text is
    /// not the one its story `stored` was decided by (changed while no window
    /// was held), so that no article joined it by that text meanwhile. It
    /// joins the window where it goes; when that is not `stored`, `commit`
    /// records the move and returns the story's id (the new one's, for
    /// `Target::New`). When `commit` fails it stays out of the window.
    pub fn judge_absent<E>(
        &mut self,
        a: &DedupArticle,
        stored: StoryId,
        commit: impl FnOnce(&Revision) -> Result<StoryId, E>,
    ) -> Result<Option<Revision>, E> {
        let p = self.prepare(a);
        let from = self.resolve(stored);
        let evidence = self.decide(&p);
        // A story of one when it was read back: it stays its own.
        let to = match evidence.story {
            Some(s) => Target::Story(s),
            None if self.stories.contains_key(&from) => Target::New(0),
            None => Target::Story(from),
        };
        if to == Target::Story(from) {
            self.admit(p, from);
            return Ok(None);
        }
        let revision = Revision {
            article: a.id.clone(),
            from,
            to,
            evidence,
        };
        let story = commit(&revision)?;
        self.admit(p, story);
        Ok(Some(revision))
    }

    /// The newest member with article id `id`.
    fn member_with_id(&self, id: &str) -> Option<u64> {
        let (i, _) = (self.members.iter().enumerate().rev()).find(|(_, m)| &*m.id == id)?;
        Some(self.first_seq + i as u64)
    }

    /// Takes member `seq` out of its story and the URL index while its new
    /// text is decided; returns that story. The URL index then names the
    /// newest other member with its URL, if any (it keeps one a URL).
    fn leave(&mut self, seq: u64) -> StoryId {
        let i = (seq - self.first_seq) as usize;
        let m = &self.members[i];
        let story = resolve_in(&self.aliases, m.story);
        leave_story(&mut self.stories, &self.aliases, m, seq);
        if let Some(c) = m.canonical.clone() {
            if self.urls.get(&c).is_some_and(|&(_, at)| at == seq) {
                let other = (self.members.iter().enumerate().rev()).find(|(j, o)| {
                    *j != i && o.story != WITHDRAWN && o.canonical.as_deref() == Some(&*c)
                });
                match other.map(|(j, o)| (o.story, self.first_seq + j as u64)) {
                    Some(entry) => self.urls.insert(c, entry),
                    None => self.urls.remove(&c),
                };
            }
        }
        self.members[i].story = WITHDRAWN;
        story
    }

    /// Gives member `seq` the features `p` of its new text and puts it in
    /// `story`: centroids, counts, the story's index and the URL index. Its
    /// place in the window and its expiry stay; its old MinHash signature
    /// stays a link of its band chains, passed over by near-copy lookups.
    /// The vocabulary's document counts and its source's template are not
    /// taught the same article twice.
    fn rejoin(&mut self, seq: u64, p: Prepared, story: StoryId) {
        self.next_story = self.next_story.max(story + 1);
        let story = self.resolve(story);
        let (shares, ends) = self.member_shares(&p);
        let (full, rest) = shares.split_at(ends[0]);
        let (head, names) = rest.split_at(ends[1] - ends[0]);
        let (packed, packed_ends) = Shares::pack([full, head, names]);
        let i = (seq - self.first_seq) as usize;
        {
            let m = &mut self.members[i];
            m.story = story;
            m.set_shares(packed, packed_ends);
            m.long = p.long;
            m.body = p.body;
            m.embedding = p.embedding.clone().into_boxed_slice();
            m.guard = Guard::of(&p);
            m.text_hash = p.text_hash;
            m.revised = true;
            // Its link may have changed with its text.
            m.canonical = p.canonical.as_deref().map(std::sync::Arc::from);
        }
        self.join_story(story, seq, &p, [full, head, names]);
        self.index_story(story, &p);
        if let Some(c) = self.members[i].canonical.clone() {
            self.urls.insert(c, (story, seq));
        }
    }
}
