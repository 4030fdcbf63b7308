//! Looking at the picture: a grid of samples of each frame's first
//! component (luma, or red for RGB) tells a black picture (dark
//! everywhere) and a frozen one (the same samples frame after frame).

use std::time::Instant;

use gst::prelude::*;

use super::{Alert, Condition, post_alert};

/// Samples across and down each frame.
const GRID: (usize, usize) = (64, 36);
/// Darker than this everywhere (0-255) is black; limited-range black is 16.
const BLACK_LEVEL: u8 = 24;
/// No sample moving more than this between frames is a frozen picture.
const STILL: u8 = 2;

pub(super) struct Picture {
    element: gst::Element,
    info: gst_video::VideoInfo,
    samples: Vec<u8>,
    previous: Vec<u8>,
    black: Condition,
    frozen: Condition,
}

impl Picture {
    pub(super) fn new(element: gst::Element, info: gst_video::VideoInfo) -> Option<Picture> {
        let format = info.format_info();
        let depth = format.depth()[0];
        if !(8..=16).contains(&depth) || info.width() == 0 || info.height() == 0 || format.is_tiled() {
            tracing::debug!("{}: no picture checks for {:?}", element.name(), info.format());
            return None;
        }
        Some(Picture {
            element,
            info,
            samples: Vec::with_capacity(GRID.0 * GRID.1),
            previous: Vec::new(),
            black: Condition::default(),
            frozen: Condition::default(),
        })
    }

    pub(super) fn buffer(&mut self, buffer: &gst::BufferRef) {
        let Ok(frame) = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &self.info) else {
            return;
        };
        let Ok(data) = frame.comp_data(0) else { return };
        let info = &self.info;
        let (width, height) = (info.comp_width(0) as usize, info.comp_height(0) as usize);
        let stride = info.comp_stride(0) as usize;
        let step = info.comp_pstride(0) as usize;
        let format = info.format_info();
        let (depth, shift) = (format.depth()[0], format.shift()[0]);
        let little = format.flags().contains(gst_video::VideoFormatFlags::LE);
        // One component as 8 bits, whatever its depth (AYUV64 and other
        // 16-bit formats are what test sources offer first).
        let read = |at: usize| -> u8 {
            let raw = match depth {
                8 => data.get(at).map(|&b| u32::from(b)),
                _ => data.get(at..at + 2).map(|b| match little {
                    true => u32::from(u16::from_le_bytes([b[0], b[1]])),
                    false => u32::from(u16::from_be_bytes([b[0], b[1]])),
                }),
            };
            raw.map_or(0, |raw| ((raw >> shift) >> (depth - 8)) as u8)
        };
        self.samples.clear();
        for gy in 0..GRID.1 {
            let y = (gy * 2 + 1) * height / (GRID.1 * 2);
            for gx in 0..GRID.0 {
                let x = (gx * 2 + 1) * width / (GRID.0 * 2);
                self.samples.push(read(y * stride + x * step));
            }
        }
        let now = Instant::now();
        let black = self.samples.iter().all(|&s| s < BLACK_LEVEL);
        let frozen = self.previous.len() == self.samples.len()
            && self
                .previous
                .iter()
                .zip(&self.samples)
                .all(|(a, b)| a.abs_diff(*b) <= STILL);
        std::mem::swap(&mut self.previous, &mut self.samples);
        let name = self.element.name();
        if let Some(active) = self.black.observe(black, now) {
            let message = match active {
                true => format!("`{name}` shows a black picture"),
                false => format!("`{name}` shows a picture again"),
            };
            post_alert(&self.element, Alert::BlackPicture, active, &message);
        }
        if let Some(active) = self.frozen.observe(frozen && !black, now) {
            let message = match active {
                true => format!("`{name}` shows a frozen picture"),
                false => format!("`{name}` moves again"),
            };
            post_alert(&self.element, Alert::FrozenPicture, active, &message);
        }
    }
}
