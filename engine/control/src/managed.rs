//! One pipeline under the control plane: its state machine, the thread
//! that runs it (restarting it after a failure when its policy says so),
//! and what it has reported.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slate_pipeline::{Heard, Outcome, Progress, RunOptions, Stop};
use tokio::sync::broadcast;

use crate::error::{ControlError, conflict, invalid};
use crate::events::{self, Category, Event};
use crate::graph::Output;
use crate::scripts::{Attached, MAX_SCRIPTS, Script, ScriptStatus};
use crate::watch::{Alert, Watch};

/// Where a pipeline is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum State {
    /// Built and checked (READY), not started.
    Ready,
    Playing,
    Paused,
    /// Draining after a stop: outputs are being finalised and signed.
    Stopping,
    /// Failed and about to run again (its restart policy).
    Restarting,
    /// Reached its end or its duration.
    Finished,
    /// Stopped on request, outputs finalised.
    Stopped,
    /// Torn down before its outputs were finalised.
    Aborted,
    Failed,
}

impl State {
    pub fn is_over(self) -> bool {
        matches!(self, State::Finished | State::Stopped | State::Aborted | State::Failed)
    }
}

/// What to do when a pipeline fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Restart {
    /// How many restarts a failure may use (0: none): per branch when
    /// `scope` is `branch`, for the whole pipeline when it is `pipeline`.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub scope: Scope,
}

/// What a restart starts again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// The failed element's branch (the element and the chain feeding it,
    /// up to a tee, a mixer or its source), in place, while the rest of
    /// the pipeline runs on; `Element:restart` in automation scripts does
    /// the same. A pipeline that fails before it plays is built again.
    #[default]
    Branch,
    /// The whole pipeline, built again.
    Pipeline,
}

/// A pipeline as its operators see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub id: String,
    /// The shipped pipeline's name, or `inline` for a file sent whole.
    pub name: String,
    pub description: Option<String>,
    pub owner: String,
    pub state: State,
    /// Running time reached, seconds.
    pub position_s: Option<f64>,
    /// When it stops by itself, seconds.
    pub duration_s: Option<f64>,
    /// Video frames from the sources so far, and per second.
    pub frames: u64,
    pub fps: f64,
    /// Frames dropped for lateness (QoS), all elements together.
    pub dropped: u64,
    /// Faults per stage (WASM and Lua).
    pub faults: BTreeMap<String, u64>,
    pub restarts: u32,
    pub restart: Restart,
    pub error: Option<String>,
    pub outputs: Vec<Output>,
    /// The live preview's playlist, under `/v1/pipelines/{id}/preview/`.
    pub preview: Option<String>,
    /// Alerts raised and not cleared.
    pub alerts: Vec<Value>,
    /// Automation scripts attached.
    pub scripts: Vec<ScriptStatus>,
}

/// How a pipeline is built again after a failure.
pub(crate) type Rebuild = Box<dyn Fn() -> Result<slate_pipeline::Built, ControlError> + Send + Sync>;

/// A pipeline just built, and how to build it again.
pub(crate) struct Made {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) built: slate_pipeline::Built,
    pub(crate) duration: Option<Duration>,
    pub(crate) restart: Restart,
    pub(crate) rebuild: Rebuild,
}

pub(crate) struct Managed {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) owner: String,
    duration: Option<Duration>,
    restart: Restart,
    rebuild: Rebuild,
    events: broadcast::Sender<Event>,
    live: Mutex<Live>,
    thread: Mutex<Option<JoinHandle<()>>>,
    scripts: Mutex<Vec<Attached>>,
    /// Numbers scripts (`s1`, ...) and their attachments.
    next_script: AtomicU64,
}

struct Live {
    state: State,
    pipeline: gst::Pipeline,
    stop: Stop,
    progress: Option<Progress>,
    dropped: BTreeMap<String, u64>,
    faults: BTreeMap<String, u64>,
    restarts: u32,
    error: Option<String>,
    outputs: Vec<Output>,
    alerts: BTreeMap<(String, String), Value>,
    /// When each element's last throttled alert went out.
    throttled: BTreeMap<(String, &'static str), Instant>,
    /// It reached PLAYING (since it was last built).
    played: bool,
    /// Restarts per failed element, under the branch scope.
    branch_restarts: BTreeMap<String, u32>,
    /// The elements of branches being restarted now.
    recovering: Vec<Vec<String>>,
}

/// Stage faults and dropped frames come in floods: one alert per element
/// this often.
const ALERT_EVERY: Duration = Duration::from_secs(5);

impl Managed {
    pub(crate) fn new(id: String, owner: String, made: Made, events: broadcast::Sender<Event>) -> Managed {
        let outputs = crate::graph::outputs(&made.built.pipeline);
        Managed {
            id,
            name: made.name,
            description: made.description,
            owner,
            duration: made.duration.or(made.built.duration),
            restart: made.restart,
            rebuild: made.rebuild,
            events,
            live: Mutex::new(Live {
                state: State::Ready,
                pipeline: made.built.pipeline,
                stop: Stop::default(),
                progress: None,
                dropped: BTreeMap::new(),
                faults: BTreeMap::new(),
                restarts: 0,
                error: None,
                outputs,
                alerts: BTreeMap::new(),
                throttled: BTreeMap::new(),
                played: false,
                branch_restarts: BTreeMap::new(),
                recovering: Vec::new(),
            }),
            thread: Mutex::new(None),
            scripts: Mutex::default(),
            next_script: AtomicU64::new(1),
        }
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn pipeline(&self) -> gst::Pipeline {
        self.live().pipeline.clone()
    }

    pub(crate) fn state(&self) -> State {
        self.live().state
    }

    pub(crate) fn status(&self) -> Status {
        let live = self.live();
        let seconds = |t: Option<gst::ClockTime>| t.map(|t| t.nseconds() as f64 / 1e9);
        let progress = live.progress.as_ref();
        Status {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            state: live.state,
            position_s: progress.and_then(|p| seconds(p.position)),
            duration_s: self.duration.map(|d| d.as_secs_f64()),
            frames: progress.map_or(0, |p| p.frames),
            fps: progress.map_or(0.0, |p| (p.fps() * 10.0).round() / 10.0),
            dropped: live.dropped.values().sum(),
            faults: live.faults.clone(),
            restarts: live.restarts,
            restart: self.restart,
            error: live.error.clone(),
            outputs: live.outputs.clone(),
            preview: crate::graph::preview(&live.outputs)
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
            alerts: live.alerts.values().cloned().collect(),
            scripts: self.scripts(),
        }
    }

    pub(crate) fn outputs(&self) -> Vec<Output> {
        self.live().outputs.clone()
    }

    fn publish(&self, category: Category, kind: &str, data: Value) {
        // Nobody listening is fine.
        let _ = self
            .events
            .send(Event::new(category, kind, &self.id, &self.owner, data));
    }

    fn set_state(&self, live: &mut Live, state: State) {
        if live.state == state {
            return;
        }
        let previous = live.state;
        live.state = state;
        if state.is_over() {
            // What is over raises nothing any more, and is tuned by no one.
            live.alerts.clear();
            for script in self.attached().iter_mut() {
                script.detach("the pipeline is over");
            }
        }
        tracing::info!("pipeline {} ({}): {:?} -> {:?}", self.id, self.name, previous, state);
        self.publish(
            Category::Pipelines,
            "state",
            json!({ "state": state, "previous": previous, "error": live.error }),
        );
    }

    /// Starts a ready pipeline, or resumes a paused one.
    pub(crate) fn start(self: &Arc<Self>) -> Result<(), ControlError> {
        let mut live = self.live();
        match live.state {
            State::Ready => {
                self.set_state(&mut live, State::Playing);
                let me = self.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("pipeline-{}", self.id))
                    .spawn(move || me.run())
                    .map_err(|e| conflict("state", format!("cannot start a thread for the pipeline: {e}")))?;
                *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
                Ok(())
            }
            State::Paused => {
                resume(&live.pipeline).map_err(|_| conflict("state", "the pipeline refused to play again"))?;
                self.set_state(&mut live, State::Playing);
                Ok(())
            }
            State::Playing | State::Restarting => Ok(()),
            other => Err(conflict(
                "state",
                format!("pipeline {} is {other:?}; make a new one to run it again", self.id).to_lowercase(),
            )),
        }
    }

    pub(crate) fn pause(&self) -> Result<(), ControlError> {
        let mut live = self.live();
        match live.state {
            State::Playing => {
                live.pipeline
                    .set_state(gst::State::Paused)
                    .map_err(|_| conflict("state", "the pipeline refused to pause"))?;
                self.set_state(&mut live, State::Paused);
                Ok(())
            }
            State::Paused => Ok(()),
            other => Err(conflict(
                "state",
                format!("only a playing pipeline pauses; {} is {other:?}", self.id).to_lowercase(),
            )),
        }
    }

    /// Asks the pipeline to drain: EOS goes through, files are finalised
    /// and signed, then it is `stopped`. A second stop tears it down.
    pub(crate) fn stop(&self) -> Result<(), ControlError> {
        let mut live = self.live();
        match live.state {
            State::Ready => {
                let _ = live.pipeline.set_state(gst::State::Null);
                self.set_state(&mut live, State::Stopped);
            }
            State::Paused => {
                // EOS only flows while playing.
                let _ = resume(&live.pipeline);
                live.stop.request();
                self.set_state(&mut live, State::Stopping);
            }
            State::Playing | State::Restarting | State::Stopping => {
                live.stop.request();
                self.set_state(&mut live, State::Stopping);
            }
            _ => {}
        }
        Ok(())
    }

    /// Waits for the pipeline's thread to end (after a stop, or its end).
    pub(crate) fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// The pipeline's thread: runs it to its end, again after failures
    /// while its restart policy allows.
    fn run(self: Arc<Self>) {
        loop {
            let (pipeline, stop) = {
                let live = self.live();
                (live.pipeline.clone(), live.stop.clone())
            };
            let watch = Watch::attach(&pipeline);
            let mut on_progress = |p: &Progress| {
                let mut live = self.live();
                live.progress = Some(p.clone());
                let playing = live.state == State::Playing;
                drop(live);
                watch.check(playing);
            };
            let mut on_message = |m: &gst::Message| self.on_message(m);
            let result = slate_pipeline::run(
                &pipeline,
                RunOptions {
                    duration: self.duration,
                    stop: stop.clone(),
                    grace: Duration::from_secs(30),
                    on_progress: Some(&mut on_progress),
                    on_message: Some(&mut on_message),
                },
            );
            let mut live = self.live();
            let state = match result {
                Ok(Outcome::Finished) => State::Finished,
                Ok(Outcome::Stopped) => State::Stopped,
                Ok(Outcome::Aborted) => State::Aborted,
                Err(e) => {
                    live.error = Some(e.to_string());
                    let rebuild = self.restart.scope == Scope::Pipeline || !live.played;
                    if rebuild && stop.requests() == 0 && live.restarts < self.restart.attempts {
                        live.restarts += 1;
                        let attempt = live.restarts;
                        self.set_state(&mut live, State::Restarting);
                        drop(live);
                        std::thread::sleep(Duration::from_millis(500) * attempt);
                        match (self.rebuild)() {
                            Ok(built) => {
                                let mut live = self.live();
                                if live.stop.requests() > 0 {
                                    self.set_state(&mut live, State::Stopped);
                                    return;
                                }
                                live.pipeline = built.pipeline.clone();
                                live.played = false;
                                self.set_state(&mut live, State::Playing);
                                drop(live);
                                self.attach_again(&built.pipeline);
                                continue;
                            }
                            Err(e) => {
                                let mut live = self.live();
                                live.error = Some(e.to_string());
                                self.set_state(&mut live, State::Failed);
                                return;
                            }
                        }
                    }
                    State::Failed
                }
            };
            self.set_state(&mut live, state);
            return;
        }
    }

    fn attached(&self) -> MutexGuard<'_, Vec<Attached>> {
        self.scripts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn scripts(&self) -> Vec<ScriptStatus> {
        self.attached().iter().map(|a| a.status.clone()).collect()
    }

    /// Attaches an automation script to the pipeline (see
    /// [`crate::scripts`]).
    pub(crate) fn attach(self: &Arc<Self>, script: Script) -> Result<ScriptStatus, ControlError> {
        let (state, pipeline) = {
            let live = self.live();
            (live.state, live.pipeline.clone())
        };
        if state.is_over() {
            return Err(conflict(
                "state",
                format!(
                    "pipeline {} is {state:?}; scripts attach to a pipeline that runs",
                    self.id
                )
                .to_lowercase(),
            ));
        }
        if self.attached().len() >= MAX_SCRIPTS {
            return Err(conflict(
                "script",
                format!(
                    "pipeline {} has {MAX_SCRIPTS} scripts already; detach one first",
                    self.id
                ),
            ));
        }
        let id = format!("s{}", self.next_script.fetch_add(1, Ordering::Relaxed));
        let attached = self.start_script(id, script, pipeline)?;
        Ok(self.adopt(attached))
    }

    /// Keeps a script that started and says so.
    fn adopt(&self, attached: Attached) -> ScriptStatus {
        let status = attached.status.clone();
        self.attached().push(attached);
        self.publish(
            Category::Scripts,
            "attached",
            json!({ "script": status.id, "name": status.name, "settings": status.settings }),
        );
        status
    }

    fn start_script(
        self: &Arc<Self>,
        id: String,
        script: Script,
        pipeline: gst::Pipeline,
    ) -> Result<Attached, ControlError> {
        let serial = self.next_script.fetch_add(1, Ordering::Relaxed);
        let me = Arc::downgrade(self);
        let said = id.clone();
        let log = slate_lua::LogListener(Arc::new(move |level, line| {
            if let Some(me) = me.upgrade() {
                me.publish(
                    Category::Scripts,
                    "log",
                    json!({ "script": said, "level": level, "message": line }),
                );
            }
        }));
        let me: Weak<Managed> = Arc::downgrade(self);
        let ended_id = id.clone();
        Attached::start(id, serial, script, pipeline, log, move |reason| {
            let Some(me) = me.upgrade() else { return };
            me.attached().retain(|a| a.serial != serial);
            me.publish(
                Category::Scripts,
                "detached",
                json!({ "script": ended_id, "reason": reason }),
            );
        })
    }

    /// Detaches script `script` and waits for its `unload()`; the pipeline
    /// runs on.
    pub(crate) fn detach(&self, script: &str) -> Result<(), ControlError> {
        let mut scripts = self.attached();
        let at = scripts.iter().position(|a| a.status.id == script).ok_or_else(|| {
            let ids: Vec<&str> = scripts.iter().map(|a| a.status.id.as_str()).collect();
            invalid(
                "script",
                format!(
                    "pipeline {} has no script `{script}`; attached: {}",
                    self.id,
                    if ids.is_empty() { "none".into() } else { ids.join(", ") }
                ),
            )
        })?;
        let mut attached = scripts.remove(at);
        drop(scripts);
        attached.detach("detached");
        attached.join();
        Ok(())
    }

    /// The pipeline was built again: its scripts are attached to the new
    /// one, under the same ids, with the same settings.
    fn attach_again(self: &Arc<Self>, pipeline: &gst::Pipeline) {
        let old: Vec<Attached> = std::mem::take(&mut *self.attached());
        for mut attached in old {
            let (id, script) = (attached.status.id.clone(), attached.script.clone());
            attached.detach("the pipeline was built again");
            attached.join();
            match self.start_script(id.clone(), script, pipeline.clone()) {
                Ok(again) => {
                    self.adopt(again);
                }
                Err(e) => tracing::warn!("pipeline {}: script {id} did not load again: {e}", self.id),
            }
        }
    }

    /// Counts and forwards one bus message; says whether a failure it
    /// reports is being recovered from.
    fn on_message(self: &Arc<Self>, message: &gst::Message) -> Heard {
        for script in self.attached().iter() {
            script.deliver(message);
        }
        let heard = self.recover(message);
        match message.view() {
            gst::MessageView::Qos(qos) => {
                self.on_qos(message, qos);
                return heard;
            }
            gst::MessageView::StateChanged(change)
                if change.current() == gst::State::Playing && message.src() == Some(self.pipeline().upcast_ref()) =>
            {
                self.live().played = true;
            }
            _ => {}
        }
        let Some((category, kind, data)) = events::from_message(message) else {
            return heard;
        };
        let element = data["element"].as_str().unwrap_or_default().to_owned();
        match (category, kind.as_str()) {
            (Category::Stages, "fault") => {
                let mut live = self.live();
                *live.faults.entry(element.clone()).or_default() += 1;
                let message = format!("stage `{element}` faulted: {}", data["message"].as_str().unwrap_or("?"));
                self.throttled_alert(&mut live, &element, Alert::StageFault, message);
            }
            (Category::Alerts, _) => {
                let mut live = self.live();
                let key = (element.clone(), data["alert"].as_str().unwrap_or_default().to_owned());
                match data["active"].as_bool() {
                    Some(true) => live.alerts.insert(key, data.clone()),
                    _ => live.alerts.remove(&key),
                };
            }
            (Category::Provenance, "signed" | "segment-signed") => {
                let mut live = self.live();
                if let Some(output) = live.outputs.iter_mut().find(|o| o.element == element) {
                    match kind.as_str() {
                        "signed" => output.signed = true,
                        _ => output.segments += 1,
                    }
                }
            }
            _ => {}
        }
        self.publish(category, &kind, data);
        heard
    }

    /// Under the branch scope, a failure while playing restarts the failed
    /// element's branch, after a wait that grows with each attempt, on a
    /// thread of its own while the rest runs on. Further errors from that
    /// branch, and the end of stream the failure sent downstream, are part
    /// of the same failure. Once the branch has used its attempts (or will
    /// not start again) the failure ends the run.
    fn recover(self: &Arc<Self>, message: &gst::Message) -> Heard {
        if self.restart.scope != Scope::Branch || self.restart.attempts == 0 {
            return Heard::Noted;
        }
        let mut live = self.live();
        if live.stop.requests() > 0 || !live.played {
            return Heard::Noted;
        }
        let error = match message.view() {
            gst::MessageView::Eos(_) if !live.recovering.is_empty() => return Heard::Recovering,
            gst::MessageView::Error(e) => e.error().to_string(),
            _ => return Heard::Noted,
        };
        let Some(element) = message.src().and_then(|s| s.downcast_ref::<gst::Element>()).cloned() else {
            return Heard::Noted;
        };
        let name = element.name().to_string();
        if live.recovering.iter().any(|branch| branch.contains(&name)) {
            return Heard::Recovering;
        }
        let attempt = {
            let tries = live.branch_restarts.entry(name.clone()).or_default();
            if *tries >= self.restart.attempts {
                return Heard::Noted;
            }
            *tries += 1;
            *tries
        };
        let branch = slate_pipeline::branch_of(&element);
        live.recovering
            .push(branch.iter().map(|e| e.name().to_string()).collect());
        live.restarts += 1;
        live.error = Some(format!("{name}: {error}"));
        let line = slate_pipeline::describe_branch(&branch);
        self.publish(
            Category::Pipelines,
            "branch-restarting",
            json!({ "element": name, "branch": line, "attempt": attempt, "error": error }),
        );
        drop(live);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("restart-{}", self.id))
            .spawn(move || me.restart_branch(&element, attempt));
        match spawned {
            Ok(_) => Heard::Recovering,
            Err(_) => Heard::Noted,
        }
    }

    fn restart_branch(&self, element: &gst::Element, attempt: u32) {
        std::thread::sleep(Duration::from_millis(500) * attempt);
        let name = element.name().to_string();
        if self.live().stop.requests() > 0 {
            return;
        }
        let result = slate_pipeline::restart_branch(element);
        let mut live = self.live();
        live.recovering.retain(|branch| !branch.contains(&name));
        match result {
            Ok(branch) => self.publish(
                Category::Pipelines,
                "branch-restarted",
                json!({ "element": name, "branch": slate_pipeline::describe_branch(&branch), "attempt": attempt }),
            ),
            Err(why) => {
                // It will not come back: the next error from it ends the run.
                live.branch_restarts.insert(name, u32::MAX);
                drop(live);
                let error = gst::message::Error::builder(gst::CoreError::StateChange, &why)
                    .src(element)
                    .build();
                let _ = element.post_message(error);
            }
        }
    }

    fn on_qos(&self, message: &gst::Message, qos: &gst::message::Qos) {
        let (_, dropped) = qos.stats();
        let element = message.src().map(|s| s.name().to_string()).unwrap_or_default();
        let Some(dropped) = dropped.value().try_into().ok().filter(|d: &u64| *d > 0) else {
            return;
        };
        let mut live = self.live();
        let before = live.dropped.insert(element.clone(), dropped).unwrap_or(0);
        if dropped > before {
            let message = format!("`{element}` dropped {dropped} frames so far");
            self.throttled_alert(&mut live, &element, Alert::DroppedFrames, message);
        }
    }

    /// An alert about a flood of happenings: at most one per element and
    /// kind every [`ALERT_EVERY`].
    fn throttled_alert(&self, live: &mut Live, element: &str, alert: Alert, message: String) {
        let key = (element.to_owned(), alert.as_str());
        let now = Instant::now();
        if live.throttled.get(&key).is_some_and(|at| now - *at < ALERT_EVERY) {
            return;
        }
        live.throttled.insert(key, now);
        self.publish(
            Category::Alerts,
            "alert",
            json!({ "alert": alert.as_str(), "active": true, "message": message, "element": element }),
        );
    }
}

/// Plays a paused pipeline again and waits (a little) for it to get
/// there: an EOS sent while the change is still under way is lost.
fn resume(pipeline: &gst::Pipeline) -> Result<(), gst::StateChangeError> {
    pipeline.set_state(gst::State::Playing)?;
    let (result, _, _) = pipeline.state(gst::ClockTime::from_seconds(5));
    result.map(|_| ())
}

impl Drop for Managed {
    fn drop(&mut self) {
        for mut script in std::mem::take(&mut *self.attached()) {
            script.detach("the pipeline was removed");
            script.join();
        }
        let _ = self.live().pipeline.set_state(gst::State::Null);
    }
}
