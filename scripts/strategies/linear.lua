-- linear: evenly spaced bands. Duration dialect: `bands` values from min to
-- max, f_i = i/(n-1) (10..60 in 6 bands: 10, 20, 30, 40, 50, 60). Step
-- dialect: min, min + step, ... and max as the last band.
local progressive = require "stormdb.progressive"

return {
  description = "evenly spaced bands from min to max (bands, or step_workers/step_connections)",
  next = function(study, history)
    return progressive.list("linear", study)[#history + 1]
  end,
}
