---@meta
-- LuaLS type stubs for Slate's Lua API: put this folder on your editor's
-- Lua workspace library for completion and checking. A test keeps it in
-- sync with what the host registers (engine/lua/src/automation/mod.rs, API).

---@class slate
---@field main Pipeline|nil the pipeline of `slate run FILE --script` (it plays once load() has run), or the one the script is attached to under `slate serve` (POST /v1/pipelines/{id}/scripts), which only the control plane plays, pauses and stops
slate = {}

---A pipeline from a gst-launch-1.0 line, or from a table shaped like a
---pipeline file: { pipeline = { links = {...} }, source = { NAME = { element
---= "...", caps = "...", properties = {...} } }, stage = {...}, sink = {...} }.
---Folders for its outputs are created.
---@param description string|table
---@return Pipeline
function slate.pipeline(description) end

---A pipeline from a Slate pipeline file (TOML).
---@param path string
---@return Pipeline
function slate.pipeline_file(path) end

---Calls `callback` on an event: "eos" (pipeline name), "error" and
---"warning" (message, element name, pipeline name), "state" (pipeline name,
---old, new: "null"|"ready"|"paused"|"playing"), "shot" (fields of the shot
---change), "element-message" (name, fields, element name of any element
---message, e.g. slate-plugin-fault or slate-script-fault).
---With an "error" handler a pipeline keeps running after an error (the
---handler decides, e.g. Element:restart()); without one it is stopped.
---@param event "eos"|"error"|"warning"|"state"|"shot"|"element-message"
---@param callback fun(...)
function slate.on(event, callback) end

---Calls `callback(value, element)` when a property's value changes (checked
---every 20 ms), and once at first with its current value.
---@param element Element
---@param property string
---@param callback fun(value: boolean|number|string|nil, element: Element)
---@return integer id for slate.cancel
function slate.observe(element, property, callback) end

---Calls `callback` every `ms` milliseconds.
---@param ms number
---@param callback fun()
---@return integer id for slate.cancel
function slate.every(ms, callback) end

---Calls `callback` once, after `ms` milliseconds.
---@param ms number
---@param callback fun()
---@return integer id for slate.cancel
function slate.after(ms, callback) end

---Calls `callback` once at a wall-clock time: "HH:MM" or "HH:MM:SS" local
---time (today, or tomorrow when it has passed), or a Unix time in seconds.
---@param when string|number
---@param callback fun()
---@return integer id for slate.cancel
function slate.at(when, callback) end

---Stops a timer (slate.every, slate.after, slate.at) or an observer.
---@param id integer
function slate.cancel(id) end

---Declares the script's settings (once, at the top level) and returns their
---values: the defaults, or what the user gave (`--setting name=value`).
---Each entry: { default = v, help = "...", min = n, max = n, choices = {...} }.
---`slate script FILE --settings` prints them as JSON for a UI to render.
---@param declared table<string, {default: boolean|number|string, help: string?, min: number?, max: number?, choices: string[]?}>
---@return table<string, boolean|number|string>
function slate.settings(declared) end

---Ends the script: `unload()` runs and its pipelines stop (drained, so
---files are finished).
function slate.quit() end

---Seconds since the script started.
---@return number
function slate.now() end

---Wall-clock time: seconds since the Unix epoch, with fractions.
---@return number
function slate.clock() end

---Runs a model pinned in models/models.toml through the host's ONNX
---sessions (GPU where there is one); also in stage scripts. Inputs and
---outputs by name: { shape = {...}, data = {...}, type = "float32" } (type
---also int64, int32, uint8). `options.session_id` shares the session with
---elements and plugins that name the same id.
---@param model string
---@param inputs table<string, {shape: integer[], data: number[], type: string?}>
---@param options {session_id: string?}?
---@return table<string, {shape: integer[], data: number[]}>
function slate.infer(model, inputs, options) end

slate.log = {}
---@param message string
function slate.log.debug(message) end
---@param message string
function slate.log.info(message) end
---@param message string
function slate.log.warn(message) end
---@param message string
function slate.log.error(message) end

---Timelines (OpenTimelineIO JSON, as `slate edit` reads and writes them).
---Tracks and positions count from 1; a refused edit changes nothing and
---its error names the OTIO path (which counts from 0).
slate.timeline = {}
---@param path string an .otio file
---@return Timeline
function slate.timeline.load(path) end
---@param name string|nil
---@return Timeline
function slate.timeline.new(name) end

---@class Pipeline
local Pipeline = {}
---play, pause and stop raise an error on a pipeline the control plane runs.
function Pipeline:play() end
function Pipeline:pause() end
---Sends end-of-stream so muxers finish their files, then stops the pipeline
---once that reached the sinks (at most 4 s later). Returns at once; "eos"
---fires when it is done.
function Pipeline:stop() end
---@param name string
---@return Element
function Pipeline:element(name) end
---@return string
function Pipeline:name() end

---@class Element
local Element = {}
---@return string
function Element:name() end
---A pad by name; request pads (sink_%u) are requested.
---@param name string
---@return Pad
function Element:pad(name) end
---A stem of a stemmix by name (its gain, pan, mute, automation, duck...).
---@param name string
---@return Element
function Element:stem(name) end
---@param property string
---@return boolean|number|string|nil
function Element:get(property) end
---Sets a property with the same typed checks as pipeline files; a pad for
---object properties such as input-selector's active-pad.
---@param property string
---@param value boolean|number|string|Pad
function Element:set(property, value) end
---Restarts this element and the chain feeding it up to its source (a failed
---branch); shared elements such as tees and mixers stay as they are.
function Element:restart() end

---@class Timeline
local Timeline = {}
---@param name string
---@param kind "video"|"audio"|"dialogue"|"music"|"effects"|"ambience"
---@return integer track the new track's number
function Timeline:add_track(name, kind) end
---Puts a clip `{media, start?, duration, rate, name?}` (start and duration
---in whole frames or samples at `rate`) or a gap `{gap, rate}` at `at`.
---@param track integer
---@param at integer
---@param item table
function Timeline:insert(track, at, item) end
---Plays another part of the clip's media (in its rate's units).
function Timeline:trim(track, at, start, duration) end
---Moves the item at `from` to position `to` (as they are before the move).
function Timeline:move(track, from, to) end
---Removes the item and closes the hole; a clip takes its transitions along.
---@return integer removed how many items went
function Timeline:ripple_delete(track, at) end
---Removes the item and leaves a gap as long as it was.
function Timeline:lift(track, at) end
---A dissolve, or a wipe (`wipe` = a SMPTE pattern such as "bar-wipe-lr"),
---at the cut after the clip at `after`: `{in = frames, out = frames}`.
function Timeline:add_transition(track, after, spec) end
---@return {kind: "clip"|"gap"|"transition", name: string?, media: string?, start: integer?, duration: integer?, rate: number}[]
function Timeline:items(track) end
---@return number seconds
function Timeline:duration() end
---Writes it whole (an .otio file).
function Timeline:save(path) end

---@class Pad

---The buffer a stage script's process(buf) sees; valid during the call only.
---@class Buffer
---@field pts number|nil presentation time in seconds (settable)
---@field duration number|nil in seconds (settable)
---@field dropped boolean
local Buffer = {}
---@param key string
---@return boolean|number|string|string[]|number[]|nil
function Buffer:get(key) end
---Sets a metadata field; nil removes it.
---@param key string
---@param value boolean|number|string|string[]|number[]|nil
function Buffer:set(key, value) end
---@return table<string, any>
function Buffer:fields() end
---@return {id: integer, label: string, confidence: number?, x: number?, y: number?, w: number?, h: number?}[]
function Buffer:objects() end
---Drops this buffer.
function Buffer:drop() end
---The buffer's bytes (copied only when asked).
---@return string
function Buffer:bytes() end

-- Stage script hooks (luastage): process(buf), on_caps(caps), load(), unload().
-- Automation scripts (slate script): load(), unload().
