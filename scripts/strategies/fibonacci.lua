-- fibonacci: bands whose increments grow like the Fibonacci numbers.
-- Duration dialect: increments proportional to 2, 3, 5, 8, 13, ... (10..68
-- in 5 bands: 10, 16, 26, 42, 68). Step dialect: the Fibonacci numbers
-- inside [min, max] (1..89: 1, 2, 3, 5, 8, 13, 21, 34, 55, 89).
local progressive = require "stormdb.progressive"

return {
  description = "bands spaced by growing Fibonacci increments: dense at the start, sparse at the top",
  next = function(study, history)
    return progressive.list("fibonacci", study)[#history + 1]
  end,
}
