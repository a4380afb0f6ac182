-- stormdb.analysis_text: the analysis section of the console report, as
-- text. `stormdb analyze` prints it; the console reporter prints it after
-- the last band of a run.
--
--   render(analysis, opts) -> text (lines ending in "\n")
--     analysis     the table stormdb.analysis.run returns
--     opts.ascii   plain ASCII (sigma, R^2, <=) instead of Unicode (σ, R², ≤);
--                  use it whenever the output is not a terminal (default true)
--     opts.bands   the measured bands in the order given to run (normalised
--                  result-file bands: band_number, p95_latency_ms), optional
--     opts.title   what was analysed, for the first line (optional)
--     opts.width   wrap prose at this many columns (default 78)
--
-- Sections: OPTIMAL CONFIGURATION, SCALING ANALYSIS, MATHEMATICAL MODELS,
-- CAPACITY (only when a target was given), RECOMMENDATIONS. A figure that
-- is missing prints as "n/a": never nan, inf or nil.

local M = {}

local UNICODE = { sigma = "σ", kappa = "κ", lambda = "λ", r2 = "R²", le = "≤", arrow = "→", rule = "─",
  nstar = "N*", minus = "−" }
local ASCII = { sigma = "sigma", kappa = "kappa", lambda = "lambda", r2 = "R^2", le = "<=", arrow = "->", rule = "-",
  nstar = "N*", minus = "-" }

local function finite(x)
  return type(x) == "number" and x == x and x ~= math.huge and x ~= -math.huge
end

local num = require("stormdb.report").num

-- TPS and other rates: enough digits at any scale.
local function rate(x)
  if not finite(x) then return "n/a" end
  local a = math.abs(x)
  if a >= 100 then return num(x, "%.1f") end
  if a >= 1 then return num(x, "%.2f") end
  return num(x, "%.4g")
end
M.rate = rate

local function workers(x)
  if not finite(x) then return "n/a" end
  if x == math.floor(x) then return string.format("%d", x) end
  return num(x, "%.2f")
end

local function percent(x)
  if not finite(x) then return "n/a" end
  return num(100 * x, "%+.1f") .. "%"
end

-- Display width of a UTF-8 string (continuation bytes do not count).
local function width(s)
  local _, cont = s:gsub("[\128-\191]", "")
  return #s - cont
end

local function pad(s, w, right)
  local fill = string.rep(" ", math.max(0, w - width(s)))
  return right and fill .. s or s .. fill
end

-- Words of text wrapped at `cols`, each line starting with `indent`
-- (`first` for the first line, when given).
local function wrap(text, cols, indent, first)
  local lines, line = {}, first or indent
  local empty = true
  for word in tostring(text):gmatch("%S+") do
    if not empty and width(line) + 1 + width(word) > cols then
      lines[#lines + 1] = line
      line, empty = indent .. word, false
    else
      line = line .. (empty and "" or " ") .. word
      empty = false
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n") .. "\n"
end

local function heading(out, title, s)
  out[#out + 1] = "\n" .. title .. "\n" .. string.rep(s.rule, width(title)) .. "\n"
end

local function status_note(part)
  if type(part) ~= "table" then return "n/a" end
  return string.format("n/a (%s: %s)", part.status or "n/a", part.message or "")
end

-- ---- sections --------------------------------------------------------------

local function optimal(out, a, s, cols)
  heading(out, "OPTIMAL CONFIGURATION", s)
  local o = a.optimal_configuration
  if not o then
    out[#out + 1] = "  " .. status_note(a) .. "\n"
    return
  end
  if o.status ~= "ok" then
    out[#out + 1] = wrap(string.format("none: %s: %s", o.status, o.message or ""), cols, "  ", "  ")
  else
    out[#out + 1] = string.format("  %s workers, %s connections: %s TPS, p95 %s ms\n", workers(o.workers),
      workers(o.connections), rate(o.tps), num(o.p95_ms, "%.3g"))
    out[#out + 1] = string.format("  scaling efficiency %s, confidence %s (fit quality %s, noise %s)\n",
      num(o.efficiency, "%.3f"), num(o.confidence, "%.2f"), num(o.fit_quality, "%.2f"),
      finite(o.noise) and num(100 * o.noise, "%.1f") .. "%" or "n/a")
  end
  if o.reasoning then out[#out + 1] = wrap(o.reasoning, cols, "  ", "  ") end
end

local function scaling(out, a, s, cols, measured)
  heading(out, "SCALING ANALYSIS", s)
  local bands = a.bands or {}
  local gain_into = {}
  for _, g in ipairs(a.marginal_gains or {}) do gain_into[g.to_workers] = g end
  local shown = {}   -- a worker count's gain is shown on its first band only
  local row = "  %4s %7s %5s %10s %7s %9s %6s %8s  %s\n"
  out[#out + 1] = string.format(row, "band", "workers", "conns", "tps", "scaling", "gain/wkr", "step", "p95 ms",
    "region")
  for i, b in ipairs(bands) do
    local m = measured and measured[i] or {}
    local g = gain_into[b.workers]
    local first_of_point = g and not shown[b.workers]
    shown[b.workers] = true
    out[#out + 1] = string.format(row,
      m.band_number and workers(m.band_number) or tostring(i), workers(b.workers), workers(b.connections),
      rate(b.tps), num(b.scaling_efficiency, "%.3f"),
      first_of_point and rate(g.gain) or "", b.region ~= "baseline" and num(b.step_efficiency, "%.3f") or "",
      num(m.p95_latency_ms, "%.3g"), b.region or (b.status ~= "ok" and b.status) or "n/a")
  end
  out[#out + 1] = "  scaling: TPS per worker relative to the smallest worker count. gain/wkr: TPS\n" ..
                  "  per worker added since the previous count; step: that gain relative to the\n" ..
                  "  first TPS per worker, which sets the region.\n"
  local r = a.scaling_regions
  if not r then
    out[#out + 1] = "  regions: " .. status_note(a) .. "\n"
  elseif r.status ~= "ok" then
    out[#out + 1] = "  regions: " .. status_note(r) .. "\n"
  else
    for _, key in ipairs { "linear_scaling", "diminishing_returns", "saturation", "degradation" } do
      local region = r[key]
      if region and region.bands and #region.bands > 0 then
        local label = key:gsub("_", " ") .. ": "
        out[#out + 1] = wrap(region.description or "", cols, "    ", "  " .. pad(label, 22))
      end
    end
  end
  local inflections = a.inflection_points or {}
  if #inflections == 0 then
    out[#out + 1] = "  inflection points: none\n"
  end
  for _, f in ipairs(inflections) do
    local from, to = (f.direction or ""):match("^(%a+)_to_(%a+)$")
    out[#out + 1] = string.format("  inflection point: %s workers (%s %s %s, between %s and %s workers)\n",
      num(f.workers, "%.1f"), from or "n/a", s.arrow, to or "n/a", workers(f.from_workers), workers(f.to_workers))
  end
end

local PARAMS = {
  linear = { "a", "b" }, logarithmic = { "a", "b" }, exponential = { "a", "b" },
  logistic = { "L", "k", "x0" }, usl = { "sigma", "kappa", "lambda" },
}

local function models(out, a, s, cols)
  heading(out, "MATHEMATICAL MODELS", s)
  local m = a.mathematical_models
  if not m then
    out[#out + 1] = "  " .. status_note(a) .. "\n"
    return
  end
  if m.status ~= "ok" then
    out[#out + 1] = wrap("best fit: " .. status_note(m), cols, "    ", "  ")
  else
    out[#out + 1] = string.format("  best fit: %s (%s %s, adjusted %s)\n", m.best_fit, s.r2, num(m.r_squared, "%.4f"),
      num(m.adj_r_squared, "%.4f"))
  end
  local row = "  %-12s %8s %8s %9s  %s\n"
  out[#out + 1] = string.format(row, "model", pad(s.r2, 8, true), pad("adj " .. s.r2, 8, true), "AIC",
    "parameters")
  for _, name in ipairs { "linear", "logarithmic", "exponential", "logistic", "usl" } do
    local f = m.models and m.models[name] or {}
    local ok = f.status == "ok"
    local params = {}
    if ok and name == "usl" then
      params[1] = "below"
    elseif ok then
      for _, p in ipairs(PARAMS[name]) do
        params[#params + 1] = (s[p] or p) .. " " .. num(f[p], "%.4g")
      end
    end
    local prefix = string.format(row, name, ok and num(f.r_squared, "%.4f") or "n/a",
      ok and num(f.adj_r_squared, "%.4f") or "n/a", ok and num(f.aic, "%.1f") or "n/a", ""):gsub("\n$", "")
    out[#out + 1] = wrap(ok and table.concat(params, ", ") or string.format("%s: %s", tostring(f.status),
      f.message or ""), cols, string.rep(" ", width(prefix)), prefix)
  end
  local u = m.models and m.models.usl
  if u and u.status == "ok" then
    local function param(label, p, value, meaning)
      local c = u[p .. "_ci"]
      local interval = type(c) == "table" and string.format("[%s, %s]", num(c[1], "%.4g"), num(c[2], "%.4g"))
        or "[n/a]"
      out[#out + 1] = string.format("%s%s = %-10s %-22s %s\n", label, pad(s[p], 6), value, interval, meaning)
    end
    param("  USL: ", "sigma", num(u.sigma, "%.4g"), "contention")
    param("       ", "kappa", num(u.kappa, "%.4g"), "coherency")
    param("       ", "lambda", rate(u.lambda), "TPS of one worker")
    out[#out + 1] = "       (95% confidence intervals" .. ((u.sigma_pinned or u.kappa_pinned) and
      string.format("; %s held at 0 by the constraint %s, %s >= 0", u.sigma_pinned and u.kappa_pinned and
        s.sigma .. " and " .. s.kappa or u.sigma_pinned and s.sigma or s.kappa, s.sigma, s.kappa) or "") .. ")\n"
    if u.peak_status == "ok" then
      out[#out + 1] = string.format("       %s = %s workers, X(%s) = %s TPS\n", s.nstar, num(u.peak_workers, "%.2f"),
        s.nstar, rate(u.peak_tps))
      out[#out + 1] = wrap(string.format("(%s; the decline is %s)",
        u.peak_extrapolated and "extrapolation: outside the measured range" or "within the measured range",
        u.peak_significant and "significant" or "not significant: " .. s.kappa .. "'s interval includes 0"),
        cols, "        ", "       ")
    else
      out[#out + 1] = string.format("       %s: n/a (%s)\n", s.nstar, u.peak_status == "no_peak"
        and s.kappa .. " = 0: no coherency cost, so no peak (Amdahl's law)" or tostring(u.peak_status))
    end
  elseif u then
    out[#out + 1] = wrap("USL: " .. status_note(u), cols, "       ", "  ")
  end
  if m.status == "ok" then
    if m.peak_status == "ok" then
      out[#out + 1] = string.format("  predicted peak: %s TPS at %s workers (%s%s)\n", rate(m.predicted_peak_tps),
        num(m.predicted_peak_workers, "%.2f"), m.best_fit, m.peak_extrapolated and ", extrapolation" or "")
    elseif m.peak_status == "unbounded" then
      out[#out + 1] = wrap(string.format("predicted peak: not reached: the %s curve still rises at %s workers " ..
        "(%s TPS there)", m.best_fit, num(m.predicted_peak_workers, "%.4g"), rate(m.predicted_peak_tps)), cols,
        "    ", "  ")
    else
      out[#out + 1] = "  predicted peak: n/a (" .. tostring(m.peak_status) .. ")\n"
    end
    if m.saturation_status == "ok" then
      out[#out + 1] = string.format("  saturation threshold: %s workers reach 95%% of the predicted peak\n",
        workers(m.saturation_workers))
    else
      out[#out + 1] = "  saturation threshold: n/a (" .. tostring(m.saturation_status) .. ")\n"
    end
  end
end

local function capacity(out, a, s, cols)
  local c = a.capacity
  if not c then return end
  heading(out, "CAPACITY", s)
  local u = a.mathematical_models and a.mathematical_models.models and a.mathematical_models.models.usl or {}
  local range = string.format("outside the measured %s to %s workers", workers(u.min_workers), workers(u.max_workers))
  local function answer(label, ans, describe)
    if ans.status ~= "ok" then
      out[#out + 1] = wrap(string.format("%s: n/a (%s: %s)", label, ans.status, ans.message or ""), cols, "    ", "  ")
      return
    end
    local text = label .. ": " .. describe(ans)
    if ans.extrapolated then text = text .. " [extrapolation: " .. range .. "]" end
    out[#out + 1] = wrap(text, cols, "    ", "  ")
  end
  if c.workers_for_tps then
    answer(string.format("for %s TPS", num(c.workers_for_tps.target, "%.6g")), c.workers_for_tps, function(x)
      return string.format("%s workers (predicted %s TPS, mean response time %s ms)", workers(x.workers),
        rate(x.tps), num(x.latency_ms, "%.3g"))
    end)
  end
  if c.tps_under_latency then
    local ans = c.tps_under_latency
    local kind = ans.latency_kind == "p95" and "a p95 latency" or "a mean response time"
    answer(string.format("within %s of %s ms", kind, num(ans.target, "%.6g")), ans, function(x)
      return string.format("%s TPS at %s workers (predicted %s ms)", rate(x.tps), workers(x.workers),
        num(x.latency_ms, "%.3g"))
    end)
  end
end

local function recommendations(out, a, s, cols)
  heading(out, "RECOMMENDATIONS", s)
  local recs = a.recommendations
  if not recs then
    out[#out + 1] = "  " .. status_note(a) .. "\n"
    return
  end
  if #recs == 0 then
    out[#out + 1] = "  none\n"
    return
  end
  for i, r in ipairs(recs) do
    local head = string.format("  %d. [%s] %s: ", i, r.priority_name or tostring(r.priority), r.category or "n/a")
    out[#out + 1] = wrap(r.suggestion or "", cols, "     ", head)
    local gain = finite(r.expected_gain) and r.expected_gain > 0 and
      ("expected gain " .. percent(r.expected_gain) .. " TPS, ") or ""
    out[#out + 1] = string.format("     (%s; %sconfidence %s)\n", r.type or "n/a", gain, num(r.confidence, "%.2f"))
  end
end

function M.render(a, opts)
  opts = opts or {}
  local s = opts.ascii == false and UNICODE or ASCII
  local cols = opts.width or 78
  local out = {}
  out[#out + 1] = "SCALABILITY ANALYSIS" .. (opts.title and (" of " .. opts.title) or "") .. "\n"
  if a.status == "ok" then
    out[#out + 1] = wrap(tostring(a.message or "n/a"), cols, "  ", "  ")
  else
    out[#out + 1] = wrap(string.format("%s: %s", tostring(a.status), tostring(a.message or "")), cols, "  ", "  ")
  end
  optimal(out, a, s, cols)
  scaling(out, a, s, cols, opts.bands)
  models(out, a, s, cols)
  capacity(out, a, s, cols)
  recommendations(out, a, s, cols)
  return table.concat(out)
end

return M
