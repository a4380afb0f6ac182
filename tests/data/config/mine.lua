-- A workload next to valid_step.yaml, to show that a relative workload path
-- in a file is relative to the file's directory.
return {
  description = "one SELECT",
  options = {
    rows = { default = 10, min = 1, help = "rows" },
    read_ratio = { default = 50, min = 0, max = 100, help = "percent of reads" },
  },
  run = function(w) w.db:exec("SELECT 1") end,
}
