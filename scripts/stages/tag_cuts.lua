-- Stage script: numbers the shots of a stream by finding its cuts in the
-- metadata the motion-meter WASM analyzer writes (motion.mean-diff), so
-- clips from any source get shot ids downstream stages can rely on.
--
--   ... ! wasmstage plugin=motion_meter.wasm ! luastage script=scripts/stages/tag_cuts.lua ! ...

local threshold = 40   -- mean absolute difference (0..255) that counts as a cut
local shot = 1

function process(buf)
  local diff = buf:get("motion.mean-diff")
  if diff and diff >= threshold then
    shot = shot + 1
  end
  buf:set("shot", "s" .. shot)
end
