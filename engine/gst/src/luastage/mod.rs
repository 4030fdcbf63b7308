//! `luastage`: calls a Lua script's `process(buf)` for every buffer (and
//! `on_caps`, `load`, `unload`), sandboxed, with the same failure policy
//! and hot reload as `wasmstage`.

use gst::glib;
use gst::prelude::*;

mod imp;

pub use imp::SCRIPT_FAULT_MESSAGE;

glib::wrapper! {
    pub struct LuaStage(ObjectSubclass<imp::LuaStage>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "luastage", gst::Rank::NONE, LuaStage::static_type())
}
