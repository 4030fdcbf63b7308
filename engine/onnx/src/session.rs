//! Loaded models and the registry that shares them: every user that names
//! the same `session-id` gets the one session.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use ort::session::{Session, SessionInputValue};
use ort::value::{TensorRef, ValueType};
use sha2::{Digest, Sha256};

use crate::error::OnnxError;
use crate::manifest::{self, AnySize, Colour, InputSpec, Layout, ModelSpec, Size};
use crate::runtime::{self, Provider};
use crate::tensor::{Tensor, TensorView, ViewData};

/// How to open a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A name from models.toml or a path to an .onnx file.
    pub model: String,
    pub provider: Provider,
    /// Users with the same id share one session (and one load).
    pub session_id: Option<String>,
    /// Threads for one inference (0: ONNX Runtime's choice).
    pub threads: usize,
    /// Whether the session's threads busy-wait for the next run: lower
    /// latency for one session alone, but sessions that take turns on few
    /// cores (a detector and a recogniser) steal each other's time.
    pub spin: bool,
}

impl Options {
    pub fn new(model: impl Into<String>) -> Options {
        Options {
            model: model.into(),
            provider: Provider::Auto,
            session_id: None,
            threads: 0,
            spin: true,
        }
    }
}

/// One input or output of a model; `-1` marks a dynamic dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub kind: &'static str,
    pub shape: Vec<i64>,
}

/// A loaded model.
pub struct Model {
    pub spec: ModelSpec,
    /// The provider that runs it.
    pub provider: Provider,
    /// Why better providers were not used (for `auto`).
    pub fallbacks: Vec<String>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    session: Mutex<Session>,
    pub(crate) pool: crate::pool::Pool,
    runs: AtomicU64,
    busy_ns: AtomicU64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.spec.name)
            .field("provider", &self.provider)
            .finish()
    }
}

static LOADS: AtomicU64 = AtomicU64::new(0);

static REGISTRY: LazyLock<Mutex<HashMap<String, Weak<Model>>>> = LazyLock::new(Mutex::default);

/// How many models were loaded from disk in this process.
pub fn loads() -> u64 {
    LOADS.load(Ordering::Relaxed)
}

/// Opens a model, or joins the session already open under the same id.
pub fn open(options: &Options) -> Result<Arc<Model>, OnnxError> {
    let spec = manifest::resolve(&options.model)?;
    let Some(id) = &options.session_id else {
        return Model::load(spec, options).map(Arc::new);
    };
    let mut registry = REGISTRY.lock().unwrap();
    if let Some(model) = registry.get(id).and_then(Weak::upgrade) {
        if model.spec.path != spec.path {
            return Err(OnnxError::SessionClash {
                id: id.clone(),
                held: model.spec.name.clone(),
                asked: spec.name,
            });
        }
        return Ok(model);
    }
    let model = Arc::new(Model::load(spec, options)?);
    registry.insert(id.clone(), Arc::downgrade(&model));
    Ok(model)
}

fn port(name: &str, value: &ValueType) -> Port {
    match value {
        ValueType::Tensor { ty, shape, .. } => Port {
            name: name.to_owned(),
            kind: match ty {
                ort::tensor::TensorElementType::Float32 => "float32",
                ort::tensor::TensorElementType::Int64 => "int64",
                ort::tensor::TensorElementType::Int32 => "int32",
                ort::tensor::TensorElementType::Uint8 => "uint8",
                _ => "other",
            },
            shape: shape.to_vec(),
        },
        _ => Port {
            name: name.to_owned(),
            kind: "other",
            shape: Vec::new(),
        },
    }
}

/// Says once per process which provider `auto` settled on and which it
/// passed over; each model's reasons only at debug level.
fn report_fallback(model: &str, provider: Provider, fallbacks: &[String]) {
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    tracing::debug!(
        "{model}: running on {provider}{}",
        fallbacks.iter().map(|f| format!("; not {f}")).collect::<String>()
    );
    let passed_over: Vec<&str> = fallbacks.iter().filter_map(|f| f.split(':').next()).collect();
    let line = if passed_over.is_empty() {
        format!("ONNX Runtime runs on {provider}")
    } else {
        format!(
            "ONNX Runtime runs on {provider} ({} not available here; SLATE_LOG=slate_onnx=debug says why)",
            passed_over.join(", ")
        )
    };
    if SAID.lock().unwrap_or_else(|e| e.into_inner()).insert(line.clone()) {
        tracing::info!("{line}");
    }
}

impl Model {
    fn load(spec: ModelSpec, options: &Options) -> Result<Model, OnnxError> {
        let runtime = runtime::init()?;
        if !spec.path.exists() {
            let hint = match spec.sha256 {
                Some(_) => "; run .ci/setup to fetch the pinned models".to_owned(),
                None => String::new(),
            };
            return Err(OnnxError::MissingModel {
                path: spec.path.clone(),
                hint,
            });
        }
        if let Some(expected) = &spec.sha256 {
            let actual = file_sha256(&spec.path).map_err(|why| OnnxError::Load {
                path: spec.path.clone(),
                why,
            })?;
            if &actual != expected {
                return Err(OnnxError::Corrupt {
                    path: spec.path.clone(),
                    actual,
                    expected: expected.clone(),
                });
            }
        }
        let mut fallbacks = Vec::new();
        for &provider in options.provider.candidates() {
            if !provider.is_built_in() {
                let why = provider.missing(runtime);
                if options.provider != Provider::Auto {
                    return Err(OnnxError::Provider {
                        provider: provider.name().into(),
                        why,
                    });
                }
                fallbacks.push(format!("{provider}: {why}"));
                continue;
            }
            match Model::session(&spec, provider, options) {
                Ok(session) => {
                    LOADS.fetch_add(1, Ordering::Relaxed);
                    if options.provider == Provider::Auto {
                        report_fallback(&spec.name, provider, &fallbacks);
                    }
                    let inputs = session.inputs.iter().map(|i| port(&i.name, &i.input_type)).collect();
                    let outputs = session.outputs.iter().map(|o| port(&o.name, &o.output_type)).collect();
                    return Ok(Model {
                        spec,
                        provider,
                        fallbacks,
                        inputs,
                        outputs,
                        session: Mutex::new(session),
                        pool: Default::default(),
                        runs: AtomicU64::new(0),
                        busy_ns: AtomicU64::new(0),
                    });
                }
                Err(error) if options.provider == Provider::Auto && provider != Provider::Cpu => {
                    fallbacks.push(format!("{provider}: {error}"));
                }
                Err(error) => return Err(error),
            }
        }
        unreachable!("auto ends with cpu, which either loads or returns its error")
    }

    fn session(spec: &ModelSpec, provider: Provider, options: &Options) -> Result<Session, OnnxError> {
        let threads = options.threads;
        let load = |why: String| OnnxError::Load {
            path: spec.path.clone(),
            why,
        };
        let mut builder = Session::builder().map_err(|e| load(e.to_string()))?;
        if threads > 0 {
            builder = builder.with_intra_threads(threads).map_err(|e| load(e.to_string()))?;
        }
        if !options.spin {
            builder = builder.with_intra_op_spinning(false).map_err(|e| load(e.to_string()))?;
        }
        let builder = provider.register(builder).map_err(|e| OnnxError::Provider {
            provider: provider.name().into(),
            why: e.to_string(),
        })?;
        builder.commit_from_file(&spec.path).map_err(|e| load(e.to_string()))
    }

    /// Runs the model on borrowed inputs (by name, in any order) and hands
    /// the outputs, in the model's order, to `read` without copying them.
    pub fn run<R>(
        &self,
        inputs: &[(&str, TensorView<'_>)],
        read: impl FnOnce(&[(&str, TensorView<'_>)]) -> R,
    ) -> Result<R, OnnxError> {
        let mismatch = |why: String| OnnxError::Mismatch {
            model: self.spec.name.clone(),
            why,
        };
        let fail = |why: String| OnnxError::Run {
            model: self.spec.name.clone(),
            why,
        };
        let mut values: Vec<(String, SessionInputValue<'_>)> = Vec::with_capacity(inputs.len());
        for (name, view) in inputs {
            let port = self.inputs.iter().find(|p| p.name == *name).ok_or_else(|| {
                let names: Vec<&str> = self.inputs.iter().map(|p| p.name.as_str()).collect();
                mismatch(format!("has no input `{name}`; its inputs: {}", names.join(", ")))
            })?;
            check_shape(port, view).map_err(&mismatch)?;
            let shape = view.shape.to_vec();
            let value: SessionInputValue<'_> = match view.data {
                ViewData::F32(d) => TensorRef::from_array_view((shape, d)).map(Into::into),
                ViewData::I64(d) => TensorRef::from_array_view((shape, d)).map(Into::into),
                ViewData::I32(d) => TensorRef::from_array_view((shape, d)).map(Into::into),
                ViewData::U8(d) => TensorRef::from_array_view((shape, d)).map(Into::into),
            }
            .map_err(|e| mismatch(format!("input `{name}`: {e}")))?;
            values.push((name.to_string(), value));
        }
        for port in &self.inputs {
            if !inputs.iter().any(|(n, _)| *n == port.name) {
                return Err(mismatch(format!("input `{}` is missing", port.name)));
            }
        }
        let started = Instant::now();
        let mut session = self.session.lock().unwrap();
        let outputs = session.run(values).map_err(|e| fail(e.to_string()))?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.busy_ns
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let mut shapes: Vec<Vec<i64>> = Vec::with_capacity(self.outputs.len());
        let mut data: Vec<ViewData<'_>> = Vec::with_capacity(self.outputs.len());
        for port in &self.outputs {
            let value = &outputs[port.name.as_str()];
            let (shape, view) = if let Ok((shape, d)) = value.try_extract_tensor::<f32>() {
                (shape.to_vec(), ViewData::F32(d))
            } else if let Ok((shape, d)) = value.try_extract_tensor::<i64>() {
                (shape.to_vec(), ViewData::I64(d))
            } else if let Ok((shape, d)) = value.try_extract_tensor::<i32>() {
                (shape.to_vec(), ViewData::I32(d))
            } else if let Ok((shape, d)) = value.try_extract_tensor::<u8>() {
                (shape.to_vec(), ViewData::U8(d))
            } else {
                return Err(fail(format!(
                    "output `{}` is not a float32, int64, int32 or uint8 tensor",
                    port.name
                )));
            };
            shapes.push(shape);
            data.push(view);
        }
        let views: Vec<(&str, TensorView<'_>)> = self
            .outputs
            .iter()
            .zip(shapes.iter().zip(data))
            .map(|(port, (shape, data))| (port.name.as_str(), TensorView { shape, data }))
            .collect();
        Ok(read(&views))
    }

    /// Runs the model on owned tensors and returns owned outputs (for the
    /// `infer` capability of plugins and scripts).
    pub fn run_owned(&self, inputs: &[(String, Tensor)]) -> Result<Vec<(String, Tensor)>, OnnxError> {
        let views: Vec<(&str, TensorView<'_>)> = inputs.iter().map(|(n, t)| (n.as_str(), t.view())).collect();
        self.run(&views, |outputs| {
            outputs
                .iter()
                .map(|(name, view)| {
                    (
                        name.to_string(),
                        Tensor {
                            shape: view.shape.to_vec(),
                            data: view.data.to_owned(),
                        },
                    )
                })
                .collect()
        })
    }

    /// The image input and how to fill it: the models.toml description, or
    /// for a bare model file one read from its input shape (NCHW or NHWC,
    /// 1 or 3 channels, RGB in 0..1). Fails for models that do not take
    /// images.
    pub fn image_input(&self) -> Result<(String, InputSpec), OnnxError> {
        let mismatch = |why: String| OnnxError::Mismatch {
            model: self.spec.name.clone(),
            why,
        };
        let mut spec = self.spec.input.clone().unwrap_or_default();
        let port = match &spec.name {
            Some(name) => self.inputs.iter().find(|p| &p.name == name),
            None => self.inputs.first(),
        }
        .ok_or_else(|| mismatch("has no image input".into()))?;
        let [_, a, b, c] = port.shape[..] else {
            return Err(mismatch(format!(
                "takes {:?} at `{}`, not an image (N x C x H x W or N x H x W x C)",
                port.shape, port.name
            )));
        };
        if self.spec.input.is_none() {
            if [1, 3].contains(&c) && ![1, 3].contains(&a) {
                spec.layout = Layout::Nhwc;
            }
            if (spec.layout == Layout::Nchw && a == 1) || (spec.layout == Layout::Nhwc && c == 1) {
                spec.colour = Colour::Gray;
            }
        }
        let (channels, height, width) = match spec.layout {
            Layout::Nchw => (a, b, c),
            Layout::Nhwc => (c, a, b),
        };
        if channels >= 0 && channels as usize != spec.colour.channels() {
            return Err(mismatch(format!(
                "input `{}` {:?} has {channels} channels, but it is fed {:?}",
                port.name, port.shape, spec.colour
            )));
        }
        if spec.size == Size::Any(AnySize::Any) && height > 0 && width > 0 {
            spec.size = Size::Fixed([width as u32, height as u32]);
        }
        spec.name = Some(port.name.clone());
        Ok((port.name.clone(), spec))
    }

    /// Inferences run and their mean time.
    pub fn stats(&self) -> (u64, Duration) {
        let runs = self.runs.load(Ordering::Relaxed);
        let busy = self.busy_ns.load(Ordering::Relaxed);
        (runs, Duration::from_nanos(busy.checked_div(runs).unwrap_or(0)))
    }
}

fn check_shape(port: &Port, view: &TensorView<'_>) -> Result<(), String> {
    let name = &port.name;
    if port.kind != view.data.kind() {
        return Err(format!(
            "input `{name}` takes {} data, not {}",
            port.kind,
            view.data.kind()
        ));
    }
    if view.shape.len() != port.shape.len() {
        return Err(format!(
            "input `{name}` takes {} dimensions {:?}, not {} {:?}",
            port.shape.len(),
            port.shape,
            view.shape.len(),
            view.shape
        ));
    }
    for (axis, (want, got)) in port.shape.iter().zip(view.shape).enumerate() {
        if *want >= 0 && want != got {
            return Err(format!(
                "input `{name}` needs {want} at axis {axis} (shape {:?}), not {got} (shape {:?})",
                port.shape, view.shape
            ));
        }
    }
    if view.elements() != Some(view.data.len()) {
        return Err(format!(
            "input `{name}`: shape {:?} needs {:?} values, got {}",
            view.shape,
            view.elements(),
            view.data.len()
        ));
    }
    Ok(())
}

pub(crate) fn file_sha256(path: &std::path::Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The sessions one sandboxed caller (a plugin instance, a script) opened,
/// by model and session id. Sandboxed code has no files: it may name only
/// the models pinned in models.toml.
#[derive(Debug, Default)]
pub struct PinnedSessions(HashMap<(String, Option<String>), Arc<Model>>);

impl PinnedSessions {
    /// The session for `model`, opened on first use.
    pub fn get(&mut self, model: &str, session_id: Option<String>) -> Result<Arc<Model>, OnnxError> {
        let pinned = manifest::names();
        if !pinned.contains(&model) {
            return Err(OnnxError::NotPinned {
                name: model.to_owned(),
                pinned: pinned.join(", "),
            });
        }
        let key = (model.to_owned(), session_id);
        if let Some(session) = self.0.get(&key) {
            return Ok(session.clone());
        }
        let session = open(&Options {
            session_id: key.1.clone(),
            ..Options::new(model)
        })?;
        self.0.insert(key, session.clone());
        Ok(session)
    }
}
