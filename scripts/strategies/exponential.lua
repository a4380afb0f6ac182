-- exponential: geometric bands. Duration dialect: workers_i =
-- round(min * (max/min)^(i/(n-1))) (10..60 in 6 bands: 10, 14, 20, 29, 42,
-- 60). Step dialect: doubling from min, max as the last band.
local progressive = require "stormdb.progressive"

return {
  description = "geometric bands from min to max: a wide range in few bands (step dialect: doubling)",
  next = function(study, history)
    return progressive.list("exponential", study)[#history + 1]
  end,
}
