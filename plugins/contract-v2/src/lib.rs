#![allow(clippy::too_many_arguments)] // generated bindings
//! A video filter built against `slate:plugin@0.2.0` (not the SDK's 0.1.0):
//! it calls `log.enabled`, new in 0.2.0, and records the answer as metadata,
//! so the host test proves it linked the newer contract beside the old one.

wit_bindgen::generate!({
    path: "../../sdk-wit/since_v0.2.0",
    world: "slate:plugin/video-filter@0.2.0",
    generate_all,
});

use slate::plugin::log::{Level, enabled};
use slate::plugin::types::*;

struct ContractV2;

impl Guest for ContractV2 {
    fn describe() -> Description {
        Description {
            name: "contract-v2".into(),
            version: "0.2.0".into(),
            world: WorldKind::VideoFilter,
            video_formats: vec![PixelFormat::Rgba, PixelFormat::Gray8],
            audio_formats: vec![],
            config_schema: String::new(),
        }
    }

    fn init() -> Result<(), PluginError> {
        Ok(())
    }

    fn process_frame(_info: FrameInfo, pixels: Vec<u8>, mut meta: Metadata) -> Result<VideoOutput, PluginError> {
        meta.fields.push(Field {
            key: "contract".into(),
            value: Value::Text("0.2.0".into()),
        });
        meta.fields.push(Field {
            key: "error-log-enabled".into(),
            value: Value::Boolean(enabled(Level::Error)),
        });
        Ok(VideoOutput { pixels, meta })
    }
}

export!(ContractV2);
