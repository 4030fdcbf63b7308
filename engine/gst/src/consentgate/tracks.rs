//! Faces between checks: each face found on a checked frame becomes a
//! track that moves on at the speed it was seen moving, so a face walking
//! across the frame stays covered until the next check finds it again.

/// `[x, y, w, h]` in frame pixels.
pub(super) type Box4 = [f32; 4];

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Track<T> {
    /// Where the face was found.
    pub found: Box4,
    /// Pixels per frame, from where the same face was found before.
    pub velocity: [f32; 2],
    /// Frames since it was found.
    pub age: u32,
    /// What the check decided about it.
    pub about: T,
}

fn centre(b: &Box4) -> [f32; 2] {
    [b[0] + b[2] / 2.0, b[1] + b[3] / 2.0]
}

fn iou(a: &Box4, b: &Box4) -> f32 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

impl<T> Track<T> {
    pub fn new(found: Box4, about: T) -> Track<T> {
        Track {
            found,
            velocity: [0.0, 0.0],
            age: 0,
            about,
        }
    }

    /// Where the face should be now.
    pub fn predicted(&self) -> Box4 {
        let [x, y, w, h] = self.found;
        let t = self.age as f32;
        [x + self.velocity[0] * t, y + self.velocity[1] * t, w, h]
    }

    /// The region to cover: the predicted box with a margin for the hair
    /// and chin the detector leaves out and for a change of pace.
    pub fn cover(&self) -> Box4 {
        let [x, y, w, h] = self.predicted();
        let slack = (self.velocity[0].abs() + self.velocity[1].abs()) * 2.0;
        let (mx, my) = (w * 0.2 + slack, h * 0.2 + slack);
        [x - mx, y - my, w + 2.0 * mx, h + 2.0 * my]
    }
}

/// One frame on.
pub(super) fn advance<T>(tracks: &mut [Track<T>]) {
    for track in tracks {
        track.age += 1;
    }
}

/// Gives each new track the velocity of the old track it continues: the
/// one whose predicted box overlaps it most.
pub(super) fn carry_velocity<T, U>(old: &[Track<T>], new: &mut [Track<U>]) {
    let mut taken = vec![false; old.len()];
    for track in new {
        let best = old
            .iter()
            .enumerate()
            .filter(|(i, o)| !taken[*i] && o.age > 0)
            .map(|(i, o)| (i, iou(&o.predicted(), &track.found)))
            .filter(|(_, overlap)| *overlap > 0.1)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            taken[i] = true;
            let (from, to) = (centre(&old[i].found), centre(&track.found));
            let frames = old[i].age as f32;
            track.velocity = [(to[0] - from[0]) / frames, (to[1] - from[1]) / frames];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_face_is_followed_between_checks() {
        // Found at x = 100, then 5 frames later at x = 110: 2 px a frame.
        let mut old = vec![Track::new([100.0, 50.0, 40.0, 40.0], ())];
        for _ in 0..5 {
            advance(&mut old);
        }
        let mut new = vec![Track::new([110.0, 50.0, 40.0, 40.0], ())];
        carry_velocity(&old, &mut new);
        assert_eq!(new[0].velocity, [2.0, 0.0]);
        advance(&mut new);
        advance(&mut new);
        assert_eq!(new[0].predicted(), [114.0, 50.0, 40.0, 40.0]);
        let cover = new[0].cover();
        assert!(cover[0] < 114.0 && cover[0] + cover[2] > 154.0, "{cover:?}");
    }

    #[test]
    fn a_new_face_far_away_starts_still_and_each_old_track_is_used_once() {
        let mut old = vec![Track::new([0.0, 0.0, 20.0, 20.0], ())];
        advance(&mut old);
        let mut new = vec![
            Track::new([2.0, 0.0, 20.0, 20.0], ()),
            Track::new([3.0, 0.0, 20.0, 20.0], ()),
            Track::new([300.0, 300.0, 20.0, 20.0], ()),
        ];
        carry_velocity(&old, &mut new);
        let moving = new.iter().filter(|t| t.velocity != [0.0, 0.0]).count();
        assert_eq!(moving, 1);
        assert_eq!(new[2].velocity, [0.0, 0.0]);
    }
}
