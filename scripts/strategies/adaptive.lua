-- adaptive: the exponential bands, but the study stops once two bands in a
-- row lose throughput beyond noise (stormdb.progressive.degrading), then
-- runs one refinement band between the best band and its better neighbour.
-- Without degradation it runs the whole exponential list and refines the
-- peak if it lies inside it.
local progressive = require "stormdb.progressive"

return {
  description = "exponential bands until throughput falls twice beyond noise, then one band to refine the peak",
  stops_itself = true,
  next = function(study, history)
    return progressive.adaptive_next(progressive.list("exponential", study), history)
  end,
}
