//! What the sandboxed stage elements share — `wasmstage`, `wasmsrc`,
//! `wasmaudiosrc` (WASM plugins) and `luastage` (Lua scripts): the
//! `on-error` policy, fault counting and reporting, and watching the
//! plugin or script file to swap a new version in between two buffers.
//! How each element recovers from a fault (a passed or dropped buffer, a
//! repeated frame, a gap, a silent block) stays with the element.

use std::sync::atomic::{AtomicU64, Ordering};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

mod watch;

pub(crate) use watch::Reloader;

/// What happens to a buffer the plugin or script failed on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstSlateOnError")]
pub enum OnError {
    /// Post an error on the bus and stop the stream.
    #[default]
    #[enum_value(name = "Fail: error on the bus", nick = "fail")]
    Fail,
    /// Forward the input buffer untouched.
    #[enum_value(name = "Passthrough: forward the input untouched", nick = "passthrough")]
    Passthrough,
    /// Drop the buffer.
    #[enum_value(name = "Drop: drop the buffer", nick = "drop")]
    Drop,
}

impl OnError {
    /// The `on-error` property; `blurb` says what fails, in the element's words.
    pub(crate) fn param_spec(blurb: &str) -> glib::ParamSpec {
        glib::ParamSpecEnum::builder::<OnError>("on-error")
            .nick("On error")
            .blurb(blurb)
            .mutable_playing()
            .build()
    }

    /// The nick the bus messages carry (`fail`, `passthrough`, `drop`).
    pub(crate) fn nick(self) -> &'static str {
        match self {
            OnError::Fail => "fail",
            OnError::Passthrough => "passthrough",
            OnError::Drop => "drop",
        }
    }

    /// A transform's answer for a buffer it did not fail the stream on.
    pub(crate) fn transform_outcome(self) -> gst::FlowSuccess {
        match self {
            OnError::Drop => gst_base::BASE_TRANSFORM_FLOW_DROPPED,
            OnError::Fail | OnError::Passthrough => gst::FlowSuccess::Ok,
        }
    }
}

/// Whether to reload on change until READY.
pub(crate) const DEFAULT_WATCH: bool = true;

/// The `watch` property; `blurb` says what is reloaded.
pub(crate) fn watch_param_spec(blurb: &str) -> glib::ParamSpec {
    glib::ParamSpecBoolean::builder("watch")
        .nick("Watch")
        .blurb(blurb)
        .default_value(DEFAULT_WATCH)
        .mutable_ready()
        .build()
}

/// The counts a sandboxed element shows as read-only properties.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    faults: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Counters {
    /// The `faults` property (`faults` is its blurb) and, for an element
    /// that watches its file, `reloads` and `reload-failures` (`reloads`
    /// names what is reloaded: plugin, script).
    pub fn param_specs(faults: &str, reloads: Option<&str>) -> Vec<glib::ParamSpec> {
        let count = |name: &str, nick: &str, blurb: &str| {
            glib::ParamSpecUInt64::builder(name)
                .nick(nick)
                .blurb(blurb)
                .read_only()
                .build()
        };
        let mut specs = vec![count("faults", "Faults", faults)];
        if let Some(what) = reloads {
            specs.push(count(
                "reloads",
                "Reloads",
                &format!("How many new versions of the {what} took over"),
            ));
            specs.push(count(
                "reload-failures",
                "Reload failures",
                &format!("How many changed {what} files could not take over (the running version stayed)"),
            ));
        }
        specs
    }

    /// The value of one of the counting properties, None for any other.
    pub fn property(&self, name: &str) -> Option<glib::Value> {
        let counter = match name {
            "faults" => &self.faults,
            "reloads" => &self.reloads,
            "reload-failures" => &self.reload_failures,
            _ => return None,
        };
        Some(counter.load(Ordering::Relaxed).to_value())
    }

    /// Counts a reload; returns how many there have been.
    pub fn reloaded(&self) -> u64 {
        self.reloads.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a fault and tells the bus: logs it, posts `message` and, under
    /// `fail`, posts the element error `what` ("Plugin x.wasm trapped: ...")
    /// and answers `Err` for the stream to stop. Otherwise the element
    /// applies `policy` to the buffer its own way. `message` gets the
    /// policy and the count.
    pub fn fault<T: ElementImpl>(
        &self,
        imp: &T,
        cat: &gst::DebugCategory,
        policy: OnError,
        mut message: gst::Structure,
        what: &str,
    ) -> Result<OnError, gst::FlowError> {
        let count = self.faults.fetch_add(1, Ordering::Relaxed) + 1;
        message.set("policy", policy.nick());
        message.set("count", count);
        gst::warning!(cat, imp = imp, "{what} (fault {count}, {})", policy.nick());
        crate::post_element_message(imp.obj().upcast_ref(), message);
        if policy == OnError::Fail {
            gst::element_imp_error!(imp, gst::LibraryError::Failed, ("{what}"));
            return Err(gst::FlowError::Error);
        }
        Ok(policy)
    }

    /// Counts a changed file that cannot take over, and warns with why; the
    /// running version stays.
    pub fn reload_refused<T: ElementImpl>(&self, imp: &T, what: &str, why: &str) {
        self.reload_failures.fetch_add(1, Ordering::Relaxed);
        gst::element_imp_warning!(
            imp,
            gst::LibraryError::Init,
            ("{what} changed but the new version cannot run, keeping the running one: {why}")
        );
    }
}

/// Watches `path` with `prepare` when `watch` is on; a watch that cannot
/// start turns hot reload off with a warning, never fails the element.
pub(crate) fn watch<T: ElementImpl, R: Send + 'static>(
    imp: &T,
    watch: bool,
    path: &std::path::Path,
    prepare: impl Fn(&std::path::Path) -> watch::Ready<R> + Send + 'static,
) -> Option<Reloader<R>> {
    if !watch {
        return None;
    }
    Reloader::start(path, prepare)
        .map_err(|e| {
            gst::element_imp_warning!(
                imp,
                gst::ResourceError::Settings,
                ("Cannot watch {} for changes, hot reload is off: {e}", path.display())
            );
        })
        .ok()
}
