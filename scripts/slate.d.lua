---@meta
-- LuaLS type stubs for Slate's Lua API: put this folder on your editor's
-- Lua workspace library for completion and checking. A test keeps it in
-- sync with what the host registers (engine/lua/src/automation.rs, API).

---@class slate
slate = {}

---A pipeline from a gst-launch-1.0 line; folders for its outputs are created.
---@param description string
---@return Pipeline
function slate.pipeline(description) end

---A pipeline from a Slate pipeline file (TOML).
---@param path string
---@return Pipeline
function slate.pipeline_file(path) end

---Calls `callback` on an event: "eos" (pipeline name), "error" and "warning"
---(message, element), "shot" (fields of the shot change), "message" (name,
---fields of any element message, e.g. slate-plugin-fault).
---@param event "eos"|"error"|"warning"|"shot"|"message"
---@param callback fun(...)
function slate.on(event, callback) end

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

---Stops a timer made by slate.every or slate.after.
---@param id integer
function slate.cancel(id) end

---Ends the script: `unload()` runs and its pipelines stop.
function slate.quit() end

---Seconds since the script started.
---@return number
function slate.now() end

slate.log = {}
---@param message string
function slate.log.debug(message) end
---@param message string
function slate.log.info(message) end
---@param message string
function slate.log.warn(message) end
---@param message string
function slate.log.error(message) end

---@class Pipeline
local Pipeline = {}
function Pipeline:play() end
function Pipeline:pause() end
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
---@param property string
---@return boolean|number|string|nil
function Element:get(property) end
---Sets a property with the same typed checks as pipeline files; a pad for
---object properties such as input-selector's active-pad.
---@param property string
---@param value boolean|number|string|Pad
function Element:set(property, value) end

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
