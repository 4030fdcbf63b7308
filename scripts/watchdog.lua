-- Watchdog: when an element of the main pipeline fails, restarts the branch
-- it is on (the element and the chain feeding it) after a short wait, while
-- the rest of the pipeline keeps running; gives up after too many restarts.
--
--   slate run pipelines/some.toml --script scripts/watchdog.lua
--
-- `slate.main` is the pipeline `slate run` built from the file.

local settings = slate.settings {
  backoff_ms = { default = 500, min = 1, help = "wait before restarting a failed branch, in milliseconds" },
  max_restarts = { default = 10, min = 1, help = "restarts of one branch before the watchdog gives up" },
}

assert(slate.main, "watchdog.lua watches a pipeline: run it as `slate run FILE --script watchdog.lua`")

restarts = 0 -- global: hosts read it when the script ends
local per_element = {}
local pending = {}

slate.on("error", function(message, element, pipeline)
  if pipeline ~= slate.main:name() or pending[element] then
    return -- one failure often posts several errors; one restart is enough
  end
  local count = (per_element[element] or 0) + 1
  per_element[element] = count
  if count > settings.max_restarts then
    slate.log.error(string.format("%s failed %d times; giving up: %s", element, count, message))
    slate.quit()
    return
  end
  slate.log.warn(string.format("%s failed (%s); restarting in %d ms", element, message, settings.backoff_ms))
  pending[element] = true
  slate.after(settings.backoff_ms, function()
    pending[element] = nil
    slate.main:element(element):restart()
    restarts = restarts + 1
  end)
end)
