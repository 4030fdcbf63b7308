-- Scene switcher: cuts between two cameras every `interval` seconds, the way
-- a vision mixer on a timer would. Each camera is tagged with its scene, so
-- the metadata log (out/switcher.jsonl) shows which one was on air when.
--
--   slate script scripts/scene_switcher.lua
--
-- Swap the test sources for v4l2src/srtsrc to cut between real feeds.

local interval_ms = 1000
local run_for_ms = 3500

local program = slate.pipeline([[
  videotestsrc is-live=true pattern=smpte ! video/x-raw,width=320,height=240,framerate=30/1 ! shottag scene=A ! mixer.sink_0
  videotestsrc is-live=true pattern=ball  ! video/x-raw,width=320,height=240,framerate=30/1 ! shottag scene=B ! mixer.sink_1
  input-selector name=mixer ! metalog location=out/switcher.jsonl ! fakesink sync=true
]])

local mixer = program:element("mixer")
local on_air = 0

slate.every(interval_ms, function()
  on_air = 1 - on_air
  mixer:set("active-pad", mixer:pad("sink_" .. on_air))
  slate.log.info(string.format("cut to camera %d at %.2f s", on_air, slate.now()))
end)

slate.after(run_for_ms, function()
  program:stop()
  slate.quit()
end)

slate.on("error", function(message, element)
  slate.log.error(element .. ": " .. message)
  slate.quit()
end)

program:play()
