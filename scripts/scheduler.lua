-- Scheduler: records the program feed from one wall-clock time to another,
-- the way a broadcaster's automation records a show.
--
--   slate script scripts/scheduler.lua --setting start=21:00 --setting stop=21:30
--
-- Times are HH:MM[:SS] local time (today, or tomorrow when already past) or
-- Unix times in seconds. Swap the test source for v4l2src/srtsrc to record
-- a real feed. The recording is finished properly (end-of-stream through
-- the muxer) at the stop time, so the MP4 plays in any player.

local settings = slate.settings {
  start = { default = "21:00:00", help = "when recording starts: HH:MM[:SS] local time, or a Unix time" },
  stop = { default = "21:30:00", help = "when recording stops: HH:MM[:SS] local time, or a Unix time" },
  output = { default = "out/recording.mp4", help = "the MP4 file to write" },
}

-- The same model as a pipeline file, as a Lua table.
local recording = slate.pipeline {
  pipeline = { links = { "camera ! videoconvert ! video/x-raw,format=I420 ! h264 ! h264parse ! mp4 ! file" } },
  source = {
    camera = {
      element = "videotestsrc",
      caps = "video/x-raw,width=640,height=360,framerate=30/1",
      properties = { ["is-live"] = true, pattern = "smpte" },
    },
  },
  stage = {
    h264 = { element = "x264enc", properties = { tune = "zerolatency", ["speed-preset"] = "ultrafast" } },
    mp4 = { element = "mp4mux" },
  },
  sink = { file = { element = "filesink", properties = { location = settings.output } } },
}

-- A setting that reads as a number is a Unix time; anything else a time of day.
local function when(text)
  return tonumber(text) or text
end

slate.at(when(settings.start), function()
  slate.log.info("recording to " .. settings.output)
  recording:play()
end)

slate.at(when(settings.stop), function()
  slate.log.info("stopping the recording")
  recording:stop()
end)

slate.on("eos", function(pipeline)
  if pipeline == recording:name() then
    slate.log.info("recording finished: " .. settings.output)
  end
end)

slate.on("error", function(message, element)
  slate.log.error(element .. ": " .. message)
  slate.quit()
end)
