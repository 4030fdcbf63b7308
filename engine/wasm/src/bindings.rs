//! Generated bindings, one module per world of `slate:plugin@0.1.0`. The
//! shared interfaces are generated once (in `video_filter`) and reused.

pub mod video_filter {
    wasmtime::component::bindgen!({
        path: "../../sdk-wit/since_v0.1.0",
        world: "slate:plugin/video-filter@0.1.0",
    });
}

/// Another world of 0.1.0, sharing the interfaces generated in `video_filter`.
macro_rules! world_of_v0_1 {
    ($module:ident, $world:tt) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../../sdk-wit/since_v0.1.0",
                world: $world,
                with: {
                    "slate:plugin/types": super::video_filter::slate::plugin::types,
                    "slate:plugin/log": super::video_filter::slate::plugin::log,
                    "slate:plugin/metrics": super::video_filter::slate::plugin::metrics,
                    "slate:plugin/config": super::video_filter::slate::plugin::config,
                    "slate:plugin/clock": super::video_filter::slate::plugin::clock,
                    "slate:plugin/events": super::video_filter::slate::plugin::events,
                },
            });
        }
    };
}

world_of_v0_1!(audio_filter, "slate:plugin/audio-filter@0.1.0");
world_of_v0_1!(analyzer, "slate:plugin/analyzer@0.1.0");
world_of_v0_1!(generator, "slate:plugin/generator@0.1.0");
world_of_v0_1!(provenance_policy, "slate:plugin/provenance-policy@0.1.0");
world_of_v0_1!(ranker, "slate:plugin/ranker@0.1.0");

pub use video_filter::slate::plugin::types;

/// Version 0.2.0 of the capabilities (sdk-wit/README.md), linked beside
/// 0.1.0 so plugins built against either load.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../sdk-wit/since_v0.2.0",
        world: "slate:plugin/capabilities@0.2.0",
    });
}

/// Version 0.3.0: 0.2.0 plus the `inference` capability.
pub mod v0_3 {
    wasmtime::component::bindgen!({
        path: "../../sdk-wit/since_v0.3.0",
        world: "slate:plugin/capabilities@0.3.0",
    });
}
