//! Finding, checking and starting the ONNX Runtime library, and choosing
//! execution providers.
//!
//! The library comes from `ORT_DYLIB_PATH`, or from where the setup put the
//! one from the pinned `onnxruntime` wheel
//! (`$SLATE_CACHE_DIR/onnxruntime-VERSION/`). It is opened and its version
//! checked here first, so a missing or wrong library is an error rather
//! than a panic inside `ort`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::execution_providers::{
    CPUExecutionProvider, CUDAExecutionProvider, ExecutionProvider, TensorRTExecutionProvider,
};

use crate::error::OnnxError;
use crate::manifest;

/// The oldest ONNX Runtime minor version `ort` 2.0.0-rc.10 works with.
const MIN_MINOR: u32 = 22;

/// The library in use and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    pub library: PathBuf,
    pub version: String,
}

/// The library to load: `ORT_DYLIB_PATH`, else the pinned one in the cache.
pub fn library_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let pin = manifest::runtime_pin();
    slate_store::cache_dir()
        .join(format!("onnxruntime-{}", pin.version))
        .join(&pin.file)
}

/// Loads and starts ONNX Runtime once per process; later calls return the
/// same result.
pub fn init() -> Result<&'static Runtime, OnnxError> {
    static RUNTIME: OnceLock<Result<Runtime, OnnxError>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| start(&library_path()))
        .as_ref()
        .map_err(Clone::clone)
}

fn start(library: &Path) -> Result<Runtime, OnnxError> {
    let fail = |why: String| OnnxError::Runtime {
        path: library.to_owned(),
        why,
    };
    if !library.exists() {
        return Err(fail("not found".into()));
    }
    let version = probe_version(library).map_err(fail)?;
    let minor: u32 = version.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(0);
    if minor < MIN_MINOR {
        return Err(fail(format!(
            "version {version} is too old; Slate needs 1.{MIN_MINOR} or later"
        )));
    }
    ort::init_from(library.display().to_string())
        .with_name("slate")
        .commit()
        .map_err(|e| fail(e.to_string()))?;
    tracing::info!("ONNX Runtime {version} from {}", library.display());
    Ok(Runtime {
        library: library.to_owned(),
        version,
    })
}

/// Opens the library and asks its version, as `ort` will, without its panics.
fn probe_version(library: &Path) -> Result<String, String> {
    // SAFETY: loading ONNX Runtime runs its initialisers, which have no
    // preconditions; `ort` loads the same file right after.
    let lib = unsafe { libloading::Library::new(library) }.map_err(|e| format!("cannot be loaded: {e}"))?;
    // SAFETY: the symbol's type is the C API's `OrtGetApiBase`.
    let base = unsafe { lib.get::<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase>(b"OrtGetApiBase") }
        .map_err(|_| "is not ONNX Runtime (no OrtGetApiBase)".to_owned())?;
    // SAFETY: OrtGetApiBase returns a pointer to a static struct, or null.
    let base = unsafe { base() };
    if base.is_null() {
        return Err("OrtGetApiBase returned nothing".into());
    }
    // SAFETY: a non-null base is valid for the library's lifetime; the
    // version is a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(((*base).GetVersionString)()) };
    let version = version.to_string_lossy().into_owned();
    // Kept loaded: `ort` opens it again and unloading ONNX Runtime is unsafe.
    std::mem::forget(lib);
    Ok(version)
}

/// Which execution provider runs a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// TensorRT, then CUDA, then CPU: the first that works.
    Auto,
    TensorRt,
    Cuda,
    Cpu,
}

impl Provider {
    pub const NAMES: [&'static str; 4] = ["auto", "tensorrt", "cuda", "cpu"];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Auto => "auto",
            Provider::TensorRt => "tensorrt",
            Provider::Cuda => "cuda",
            Provider::Cpu => "cpu",
        }
    }

    /// What ONNX Runtime calls it.
    fn ort_name(self) -> &'static str {
        match self {
            Provider::Auto => "auto",
            Provider::TensorRt => "TensorrtExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
            Provider::Cpu => "CPUExecutionProvider",
        }
    }

    /// The providers to try, in order.
    pub fn candidates(self) -> &'static [Provider] {
        match self {
            Provider::Auto => &[Provider::TensorRt, Provider::Cuda, Provider::Cpu],
            Provider::TensorRt => &[Provider::TensorRt],
            Provider::Cuda => &[Provider::Cuda],
            Provider::Cpu => &[Provider::Cpu],
        }
    }

    /// Whether the loaded library was built with this provider.
    pub fn is_built_in(self) -> bool {
        let available = match self {
            Provider::Auto | Provider::Cpu => Ok(true),
            Provider::TensorRt => TensorRTExecutionProvider::default().is_available(),
            Provider::Cuda => CUDAExecutionProvider::default().is_available(),
        };
        available.unwrap_or(false)
    }

    /// Adds this provider to a session being built; fails if it cannot.
    pub(crate) fn register(
        self,
        builder: ort::session::builder::SessionBuilder,
    ) -> ort::Result<ort::session::builder::SessionBuilder> {
        let dispatch = match self {
            Provider::TensorRt => TensorRTExecutionProvider::default().build().error_on_failure(),
            Provider::Cuda => CUDAExecutionProvider::default().build().error_on_failure(),
            // ort's default CPU provider turns the memory arena off, which
            // makes every run allocate its activations afresh.
            Provider::Auto | Provider::Cpu => CPUExecutionProvider::default()
                .with_arena_allocator(true)
                .build()
                .error_on_failure(),
        };
        builder.with_execution_providers([dispatch])
    }

    /// Why this provider cannot run here, for messages.
    pub(crate) fn missing(self, runtime: &Runtime) -> String {
        let built_in: Vec<&str> = [Provider::TensorRt, Provider::Cuda, Provider::Cpu]
            .into_iter()
            .filter(|p| p.is_built_in())
            .map(|p| p.ort_name())
            .collect();
        let install = match self {
            Provider::TensorRt => "install onnxruntime-gpu with TensorRT (and the TensorRT libraries)",
            _ => "install onnxruntime-gpu and the CUDA 12 libraries",
        };
        format!(
            "{} is not in {} (it has {}); {install} and point ORT_DYLIB_PATH at its libonnxruntime.so",
            self.ort_name(),
            runtime.library.display(),
            built_in.join(", ")
        )
    }
}

impl std::str::FromStr for Provider {
    type Err = OnnxError;

    fn from_str(text: &str) -> Result<Provider, OnnxError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Provider::Auto),
            "tensorrt" | "trt" => Ok(Provider::TensorRt),
            "cuda" => Ok(Provider::Cuda),
            "cpu" => Ok(Provider::Cpu),
            other => Err(OnnxError::UnknownProvider(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
