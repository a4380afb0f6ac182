-- The HTML reporter: the run as one self-contained HTML page with inline SVG
-- charts (stormdb.report.html), rewritten atomically after every band and
-- at the end, so it can be opened while a study runs. In a study it is
-- written next to the CSV and JSON exports, with the same basename and
-- .html (`reporters: [console, csv, json, html]` in the file, or
-- `--reporter html`). `stormdb report RESULT.json -o report.html` builds the
-- same page from a saved result.
local page = require "stormdb.report.html"

local R = { description = "a self-contained HTML report with charts, rewritten after every band",
  extension = "html" }
R.__index = R

function R.new(opts)
  assert(opts and opts.path, "html reporter: a path is required")
  return setmetatable({ path = opts.path }, R)
end

function R:write(run)
  local ok, err = page.write(self.path, page.render(run))
  if not ok then error(err, 0) end
end

function R:on_run_start(run)
  self:write(run)
  run.exports = run.exports or {}
  table.insert(run.exports, self.path)
end
function R:on_band(_, run) self:write(run) end
function R:on_run_done(run) self:write(run) end

return R
