#![allow(clippy::too_many_arguments)] // generated bindings
//! A video filter built against `slate:plugin@0.1.0`, the first release:
//! it adds `delta` (config, default 32) to every byte and records which
//! contract it speaks, so the host test proves plugins built before the
//! SDK moved on still load and run.

wit_bindgen::generate!({
    path: "../../sdk-wit/since_v0.1.0",
    world: "slate:plugin/video-filter@0.1.0",
    generate_all,
});

use std::cell::Cell;

use slate::plugin::config;
use slate::plugin::types::*;

thread_local! {
    static DELTA: Cell<u8> = const { Cell::new(32) };
}

struct ContractV1;

impl Guest for ContractV1 {
    fn describe() -> Description {
        Description {
            name: "contract-v1".into(),
            version: "0.1.0".into(),
            world: WorldKind::VideoFilter,
            video_formats: vec![PixelFormat::Rgba, PixelFormat::Gray8],
            audio_formats: vec![],
            config_schema: r#"{"delta": "added to every byte, 0-255 (default 32)"}"#.into(),
        }
    }

    fn init() -> Result<(), PluginError> {
        let config = config::get();
        let delta = match config.split_once("\"delta\"") {
            None => 32,
            Some((_, rest)) => rest
                .trim_start()
                .trim_start_matches(':')
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| PluginError::BadConfig("`delta` must be a whole number from 0 to 255".into()))?,
        };
        DELTA.with(|d| d.set(delta));
        Ok(())
    }

    fn process_frame(_info: FrameInfo, mut pixels: Vec<u8>, mut meta: Metadata) -> Result<VideoOutput, PluginError> {
        let delta = DELTA.with(Cell::get);
        pixels.iter_mut().for_each(|p| *p = p.saturating_add(delta));
        meta.fields.push(Field {
            key: "contract".into(),
            value: Value::Text("0.1.0".into()),
        });
        Ok(VideoOutput { pixels, meta })
    }
}

export!(ContractV1);
