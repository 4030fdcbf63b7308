//! What an editor does to a track: insert, trim, move, lift, ripple
//! delete, add a transition. Each edit is checked as a whole before it
//! takes (the rules of [`crate::model`]): one that would leave the track
//! unrenderable is refused, naming the item, and changes nothing.

use crate::error::EditError;
use crate::model::{Item, Timeline, Track, Transition, check_track};
use crate::time::Range;

impl Timeline {
    /// Applies `edit` to a copy of track `track` and keeps it if the
    /// result is renderable.
    fn edit<R>(
        &mut self,
        track: usize,
        edit: impl FnOnce(&mut Track, &str) -> Result<R, EditError>,
    ) -> Result<R, EditError> {
        let path = format!("tracks[{track}]");
        let count = self.tracks.len();
        let original = self
            .tracks
            .get(track)
            .ok_or_else(|| EditError::at(&path, format!("no such track; the timeline has {count}")))?;
        let mut edited = original.clone();
        let result = edit(&mut edited, &path)?;
        check_track(&edited, &path)?;
        self.tracks[track] = edited;
        Ok(result)
    }

    /// Puts `item` at position `at` of track `track` (its length: at the
    /// end); what was there and after moves later.
    pub fn insert(&mut self, track: usize, at: usize, item: Item) -> Result<(), EditError> {
        self.edit(track, |t, path| {
            if at > t.items.len() {
                return Err(beyond(path, at, t.items.len()));
            }
            t.items.insert(at, item);
            Ok(())
        })
    }

    /// Plays another part of clip `at`'s media: what follows moves with
    /// its new length.
    pub fn trim(&mut self, track: usize, at: usize, source: Range) -> Result<(), EditError> {
        self.edit(track, |t, path| match t.items.get_mut(at) {
            Some(Item::Clip(clip)) => {
                clip.source = source;
                Ok(())
            }
            Some(_) => Err(EditError::at(&child(path, at), "only clips are trimmed")),
            None => Err(beyond(path, at, t.items.len())),
        })
    }

    /// Moves item `from` to position `to` (positions as they are before
    /// the move).
    pub fn move_item(&mut self, track: usize, from: usize, to: usize) -> Result<(), EditError> {
        self.edit(track, |t, path| {
            let len = t.items.len();
            if from >= len || to > len {
                return Err(beyond(path, from.max(to), len));
            }
            let item = t.items.remove(from);
            t.items.insert(if to > from { to - 1 } else { to }, item);
            Ok(())
        })
    }

    /// Takes item `at` out and closes the hole: everything after it moves
    /// earlier. The transitions on either side of a clip go with it (they
    /// would join other clips). Answers what was removed.
    pub fn ripple_delete(&mut self, track: usize, at: usize) -> Result<Vec<Item>, EditError> {
        self.edit(track, |t, path| {
            if at >= t.items.len() {
                return Err(beyond(path, at, t.items.len()));
            }
            let is_transition = |i: usize| matches!(t.items.get(i), Some(Item::Transition(_)));
            let (mut first, mut last) = (at, at);
            if matches!(t.items[at], Item::Clip(_)) {
                if at > 0 && is_transition(at - 1) {
                    first = at - 1;
                }
                if is_transition(at + 1) {
                    last = at + 1;
                }
            }
            Ok(t.items.drain(first..=last).collect())
        })
    }

    /// Takes item `at` out and leaves a gap as long as it was: nothing
    /// after it moves.
    pub fn lift(&mut self, track: usize, at: usize) -> Result<Item, EditError> {
        let removed = self.ripple_delete(track, at)?;
        let clip_or_gap = removed.iter().find(|i| !matches!(i, Item::Transition(_))).cloned();
        let length = match &clip_or_gap {
            Some(Item::Clip(c)) => Some(c.source.duration),
            Some(Item::Gap(d)) => Some(*d),
            _ => None,
        };
        let at = at - usize::from(removed.len() > 1 && matches!(removed[0], Item::Transition(_)));
        if let Some(length) = length {
            self.insert(track, at, Item::Gap(length))?;
        }
        Ok(clip_or_gap.unwrap_or_else(|| removed[0].clone()))
    }

    /// Adds `transition` at the cut after item `after`.
    pub fn add_transition(&mut self, track: usize, after: usize, transition: Transition) -> Result<(), EditError> {
        self.insert(track, after + 1, Item::Transition(transition))
    }
}

fn child(path: &str, at: usize) -> String {
    format!("{path}.children[{at}]")
}

fn beyond(path: &str, at: usize, len: usize) -> EditError {
    EditError::at(&child(path, at), format!("no item here; the track has {len}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Clip, Kind};
    use crate::time::{Rate, Time};

    fn frames(start: i64, duration: i64) -> Range {
        Range::new(Time::new(start, Rate::whole(25)), Time::new(duration, Rate::whole(25)))
    }

    fn clip(name: &str, start: i64, duration: i64) -> Item {
        Item::Clip(Clip::new(name, &format!("{name}.mp4"), frames(start, duration)))
    }

    fn dissolve(frames: i64) -> Transition {
        Transition {
            name: "x".into(),
            wipe: None,
            in_offset: Time::new(frames, Rate::whole(25)),
            out_offset: Time::new(frames, Rate::whole(25)),
        }
    }

    fn names(timeline: &Timeline) -> Vec<String> {
        timeline.tracks[0]
            .items
            .iter()
            .map(|i| match i {
                Item::Clip(c) => format!("{}:{}+{}", c.name, c.source.start.value, c.source.duration.value),
                Item::Gap(d) => format!("gap:{}", d.value),
                Item::Transition(t) => format!("x{}", t.in_offset.value),
            })
            .collect()
    }

    fn timeline() -> Timeline {
        let mut timeline = Timeline::new("t");
        let mut track = Track::new("V1", Kind::Video);
        track.items = vec![clip("a", 0, 50), clip("b", 20, 40), clip("c", 10, 30)];
        timeline.tracks.push(track);
        timeline
    }

    #[test]
    fn edits_change_the_track_as_an_editor_expects() {
        let mut t = timeline();
        t.insert(0, 1, clip("d", 0, 10)).unwrap();
        assert_eq!(names(&t), ["a:0+50", "d:0+10", "b:20+40", "c:10+30"]);
        t.add_transition(0, 1, dissolve(5)).unwrap();
        assert_eq!(names(&t), ["a:0+50", "d:0+10", "x5", "b:20+40", "c:10+30"]);
        t.trim(0, 4, frames(12, 20)).unwrap();
        assert_eq!(t.duration(), Time::new(120, Rate::whole(25)).seconds());
        t.move_item(0, 0, 5).unwrap();
        assert_eq!(names(&t), ["d:0+10", "x5", "b:20+40", "c:12+20", "a:0+50"]);
        // A ripple delete takes the clip's transitions with it.
        let removed = t.ripple_delete(0, 2).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(names(&t), ["d:0+10", "c:12+20", "a:0+50"]);
        assert_eq!(t.duration(), Time::new(80, Rate::whole(25)).seconds());
        // A lift leaves its length behind.
        t.lift(0, 1).unwrap();
        assert_eq!(names(&t), ["d:0+10", "gap:20", "a:0+50"]);
        assert_eq!(t.duration(), Time::new(80, Rate::whole(25)).seconds());
    }

    #[test]
    fn an_edit_that_would_break_the_track_is_refused_and_changes_nothing() {
        let mut t = timeline();
        let before = t.clone();
        // b has 20 frames of media before its start: a 30-frame lead-in
        // is not there.
        let e = t.add_transition(0, 0, dissolve(30)).unwrap_err();
        assert_eq!(e.path(), "tracks[0].children[1].in_offset");
        let e = t.add_transition(0, 2, dissolve(5)).unwrap_err();
        assert_eq!(e.path(), "tracks[0].children[3]");
        let e = t.trim(0, 1, frames(-1, 10)).unwrap_err();
        assert_eq!(e.path(), "tracks[0].children[1].source_range.start_time");
        assert_eq!(
            t.insert(0, 9, clip("z", 0, 1)).unwrap_err().path(),
            "tracks[0].children[9]"
        );
        assert_eq!(t.insert(3, 0, clip("z", 0, 1)).unwrap_err().path(), "tracks[3]");
        t.add_transition(0, 0, dissolve(10)).unwrap();
        // Moving the clip before a transition to the end leaves the
        // transition first, joining nothing.
        let with_transition = t.clone();
        assert_eq!(t.move_item(0, 0, 4).unwrap_err().path(), "tracks[0].children[0]");
        assert_eq!(t, with_transition);
        t.ripple_delete(0, 1).unwrap();
        assert_eq!(names(&t), names(&before));
    }
}
