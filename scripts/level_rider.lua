-- Level rider: rides the music stem of a mix from events, the way a mixer
-- operator rides a fader. Each shot change (slate-shot from shottag cues)
-- sets the music level its shot asks for, ramped over `ramp_ms`; the result
-- is written to out/ride.wav.
--
--   slate script scripts/level_rider.lua
--
-- Put your own stems (filesrc ! decodebin) in place of the test tones and
-- your own levels in `levels`.

local ramp_ms = 200
local step_ms = 20
local levels = { intro = 0, talk = -12, outro = -3 }

local program = slate.pipeline([[
  audiotestsrc is-live=true wave=sine freq=440 volume=0.1 samplesperbuffer=480
    ! shottag cues="0s: shot=intro; 1.5s: shot=talk; 3s: shot=outro" ! mix.music
  stemmix name=mix rate=48000 channels=2 ! audioconvert ! audio/x-raw,format=S16LE
    ! wavenc ! filesink location=out/ride.wav
]])

local music = program:element("mix"):stem("music")
local target = 0
local ramp = nil

local function ride_to(level)
  target = level
  if ramp then slate.cancel(ramp) end
  local from = music:get("gain")
  local steps = math.max(1, ramp_ms // step_ms)
  local done = 0
  ramp = slate.every(step_ms, function()
    done = done + 1
    music:set("gain", from + (target - from) * done / steps)
    if done >= steps then
      slate.cancel(ramp)
      ramp = nil
    end
  end)
end

slate.on("shot", function(fields)
  local level = levels[fields.shot]
  if level then
    slate.log.info(string.format("%s: music to %d dB at %.2f s", fields.shot, level, slate.now()))
    ride_to(level)
  end
end)

slate.after(4500, function()
  program:stop()
  slate.quit()
end)

slate.on("error", function(message, element)
  slate.log.error(element .. ": " .. message)
  slate.quit()
end)

program:play()
