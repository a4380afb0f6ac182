-- stormdb.report.svg: small inline-SVG charts for the HTML report: axes with
-- round ticks (linear or logarithmic), lines, markers, bars, shaded ranges,
-- marked points and a legend. No scripts, no fonts, no external references:
-- the SVG is text inside the page and prints like the rest of it.
--
--   local chart = svg.chart{ width = 900, height = 360, title = "...",
--     x = { label = "workers", min =, max =, log = false, format = fn },
--     y = { label = "TPS", min = 0, max =, log = false } }
--   chart:shade(x0, x1, { fill =, label = })     a vertical band
--   chart:line(points, { color =, width =, dash =, label = })   points {{x, y}, ...}; nil y breaks it
--   chart:markers(points, { color =, shape = "circle"|"square"|"diamond", size =, label = })
--   chart:bars(bars, { color = })                bars {{x0 =, x1 =, y =, color =, label =}}
--   chart:vline(x, { color =, dash =, label = })
--   chart:hline(y, { color =, dash = })
--   chart:note(x, y, text, { anchor = })         text at data coordinates
--   an axis may say pad = 0.04: that much room beyond its outer ticks
--   chart:render() -> "<svg ...>...</svg>"
--
-- Points outside the axes are clipped to the plotting area. Non-finite
-- numbers are dropped (a line breaks there), so nothing NaN reaches the SVG.

local M = {}

local function finite(x)
  return type(x) == "number" and x == x and x ~= math.huge and x ~= -math.huge
end
M.finite = finite

-- Text for SVG and HTML: &, <, >, quotes escaped; "://" written with an
-- entity so no text can look like a link to somewhere.
function M.escape(s)
  s = tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"):gsub("'", "&#39;")
  return (s:gsub("://", ":&#47;&#47;"))
end
local esc = M.escape

-- A coordinate: two decimals, no "-0.00".
local function c(x)
  if not finite(x) then x = 0 end
  local s = string.format("%.2f", x)
  if s == "-0.00" then s = "0.00" end
  return s
end

-- Short tick labels: 12k, 1.5M, 0.25, 3e-05.
function M.short(x)
  if not finite(x) then return "" end
  local a = math.abs(x)
  if a == 0 then return "0" end
  local function trim(s) return (s:gsub("(%..-)0+$", "%1"):gsub("%.$", "")) end
  if a >= 1e9 then return trim(string.format("%.2f", x / 1e9)) .. "G" end
  if a >= 1e6 then return trim(string.format("%.2f", x / 1e6)) .. "M" end
  if a >= 1e4 then return trim(string.format("%.1f", x / 1e3)) .. "k" end
  if a >= 100 then return string.format("%.0f", x) end
  if a >= 1 then return trim(string.format("%.2f", x)) end
  if a >= 0.001 then return trim(string.format("%.4f", x)) end
  return string.format("%.0e", x)
end

-- Round ticks covering [lo, hi]: about n of them, steps of 1, 2 or 5 x 10^k.
function M.ticks(lo, hi, n)
  n = n or 6
  if not (finite(lo) and finite(hi)) then return { 0, 1 }, 0, 1 end
  if hi <= lo then
    local pad = lo == 0 and 1 or math.abs(lo) * 0.1
    lo, hi = lo - pad, hi + pad
  end
  local raw = (hi - lo) / n
  local mag = 10 ^ math.floor(math.log10(raw))
  local step = mag
  for _, m in ipairs { 1, 2, 2.5, 5, 10 } do
    if raw <= m * mag then
      step = m * mag
      break
    end
  end
  local first = math.floor(lo / step + 1e-9) * step
  local last = math.ceil(hi / step - 1e-9) * step
  local ticks = {}
  for i = 0, math.floor((last - first) / step + 0.5) do ticks[#ticks + 1] = first + i * step end
  return ticks, first, last
end

-- Ticks for a logarithmic axis over [lo, hi] (lo > 0): 1, 2, 5 x 10^k, or
-- only the powers of ten on a wide range.
function M.log_ticks(lo, hi)
  local ticks = {}
  local k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
  local steps = (k1 - k0) > 4 and { 1 } or { 1, 2, 5 }
  for k = k0, k1 do
    for _, m in ipairs(steps) do
      local v = m * 10 ^ k
      if v >= lo * (1 - 1e-9) and v <= hi * (1 + 1e-9) then ticks[#ticks + 1] = v end
    end
  end
  if #ticks < 2 then ticks = { lo, hi } end
  return ticks
end

local Chart = {}
Chart.__index = Chart
local serial = 0

-- Settles an axis: range (padded to round ticks on a linear axis) and ticks.
local function axis(a, values)
  a = a or {}
  local lo, hi = a.min, a.max
  for _, v in ipairs(values) do
    if finite(v) and (not a.log or v > 0) then
      if a.min == nil then lo = lo and math.min(lo, v) or v end
      if a.max == nil then hi = hi and math.max(hi, v) or v end
    end
  end
  if a.log then
    lo, hi = lo or 1, hi or 10
    if lo <= 0 then lo = hi / 100 end
    if hi <= lo then hi = lo * 10 end
    if a.min == nil then lo = lo / 1.2 end
    if a.max == nil then hi = hi * 1.2 end
    a.lo, a.hi, a.tick_list = lo, hi, M.log_ticks(lo, hi)
  else
    lo, hi = lo or 0, hi or 1
    local ticks, first, last = M.ticks(lo, hi, a.ticks or 6)
    a.lo = a.min ~= nil and a.min or first
    a.hi = a.max ~= nil and a.max or last
    if not (a.hi > a.lo) then a.hi = a.lo + (a.lo ~= 0 and math.abs(a.lo) or 1) end
    -- room beyond the outermost tick, so markers there are not cut in half
    if a.pad and a.max == nil then a.hi = a.hi + a.pad * (a.hi - a.lo) end
    if a.pad and a.min == nil then a.lo = a.lo - a.pad * (a.hi - a.lo) end
    a.tick_list = {}
    for _, t in ipairs(ticks) do
      if t >= a.lo - 1e-9 * math.abs(a.hi - a.lo) and t <= a.hi + 1e-9 * math.abs(a.hi - a.lo) then
        a.tick_list[#a.tick_list + 1] = t
      end
    end
  end
  return a
end

function M.chart(opts)
  serial = serial + 1
  local self = setmetatable({
    width = opts.width or 900, height = opts.height or 360, title = opts.title, id = "c" .. serial,
    xopt = opts.x or {}, yopt = opts.y or {}, items = {}, legend = {}, xs = {}, ys = {},
    margin = { l = 74, r = 24, t = 28, b = 52 }, desc = opts.desc,
  }, Chart)
  return self
end

local function collect(self, points)
  for _, p in ipairs(points) do
    self.xs[#self.xs + 1] = p[1]
    self.ys[#self.ys + 1] = p[2]
  end
end

local function add_legend(self, style, kind)
  if style and style.label then
    self.legend[#self.legend + 1] = { label = style.label, color = style.color or "#333", dash = style.dash,
      kind = kind, shape = style.shape, fill = style.fill, width = style.width }
  end
end

function Chart:line(points, style)
  style = style or {}
  self.items[#self.items + 1] = { kind = "line", points = points, style = style }
  if not style.no_range then collect(self, points) end
  add_legend(self, style, "line")
end

function Chart:markers(points, style)
  style = style or {}
  self.items[#self.items + 1] = { kind = "markers", points = points, style = style }
  collect(self, points)
  add_legend(self, style, "marker")
end

function Chart:bars(bars, style)
  style = style or {}
  self.items[#self.items + 1] = { kind = "bars", bars = bars, style = style }
  for _, b in ipairs(bars) do
    self.xs[#self.xs + 1], self.xs[#self.xs + 2] = b.x0, b.x1
    self.ys[#self.ys + 1] = b.y
  end
  self.ys[#self.ys + 1] = 0
  add_legend(self, style, "bar")
end

function Chart:shade(x0, x1, style)
  table.insert(self.items, 1, { kind = "shade", x0 = x0, x1 = x1, style = style or {} })
end

function Chart:vline(x, style)
  self.items[#self.items + 1] = { kind = "vline", x = x, style = style or {} }
  self.xs[#self.xs + 1] = x
end

function Chart:hline(y, style)
  self.items[#self.items + 1] = { kind = "hline", y = y, style = style or {} }
end

function Chart:note(x, y, text, style)
  self.items[#self.items + 1] = { kind = "note", x = x, y = y, text = text, style = style or {} }
end

-- A legend entry that belongs to no drawn item (a shaded region's colour).
function Chart:key(label, style)
  style = style or {}
  style.label = label
  add_legend(self, style, style.kind or "swatch")
end

function Chart:sx(x)
  local a, m = self.xa, self.margin
  local w = self.width - m.l - m.r
  if a.log then
    return m.l + w * (math.log(x) - math.log(a.lo)) / (math.log(a.hi) - math.log(a.lo))
  end
  return m.l + w * (x - a.lo) / (a.hi - a.lo)
end

function Chart:sy(y)
  local a, m = self.ya, self.margin
  local h = self.height - m.t - m.b
  if a.log then
    return m.t + h - h * (math.log(y) - math.log(a.lo)) / (math.log(a.hi) - math.log(a.lo))
  end
  return m.t + h - h * (y - a.lo) / (a.hi - a.lo)
end

local function ok_x(self, x) return finite(x) and (not self.xa.log or x > 0) end
local function ok_y(self, y) return finite(y) and (not self.ya.log or y > 0) end

local function dash_attr(d)
  if not d then return "" end
  return string.format(' stroke-dasharray="%s"', d)
end

local function marker(shape, x, y, size, color, fill)
  local s = size or 4
  fill = fill or color
  if shape == "square" then
    return string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s"/>', c(x - s), c(y - s),
      c(2 * s), c(2 * s), fill, color)
  elseif shape == "diamond" then
    return string.format('<path d="M%s %sL%s %sL%s %sL%s %sZ" fill="%s" stroke="%s"/>', c(x), c(y - s - 1),
      c(x + s + 1), c(y), c(x), c(y + s + 1), c(x - s - 1), c(y), fill, color)
  elseif shape == "triangle" then
    return string.format('<path d="M%s %sL%s %sL%s %sZ" fill="%s" stroke="%s"/>', c(x), c(y - s - 1), c(x + s + 1),
      c(y + s), c(x - s - 1), c(y + s), fill, color)
  end
  return string.format('<circle cx="%s" cy="%s" r="%s" fill="%s" stroke="%s"/>', c(x), c(y), c(s), fill, color)
end

-- The legend, in rows above the plot; returns its height.
local function legend_rows(self)
  local rows, row, width = {}, {}, self.margin.l
  local avail = self.width - self.margin.r
  for _, e in ipairs(self.legend) do
    local w = 34 + 6.6 * #e.label + 18
    if #row > 0 and width + w > avail then
      rows[#rows + 1] = row
      row, width = {}, self.margin.l
    end
    row[#row + 1] = { entry = e, x = width }
    width = width + w
  end
  if #row > 0 then rows[#rows + 1] = row end
  return rows
end

function Chart:render()
  local rows = legend_rows(self)
  local top = (self.title and 26 or 8) + #rows * 20
  self.margin.t = top + 10
  self.height = self.height + top
  if self.xopt.log then
    local keep = {}
    for _, v in ipairs(self.xs) do if finite(v) and v > 0 then keep[#keep + 1] = v end end
    self.xs = keep
  end
  self.xa = axis(self.xopt, self.xs)
  self.ya = axis(self.yopt, self.ys)
  local m, W, H = self.margin, self.width, self.height
  local pw, ph = W - m.l - m.r, H - m.t - m.b
  local out = {}
  local function add(s) out[#out + 1] = s end
  add(string.format('<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" ' ..
    'font-family="sans-serif" font-size="12">', W, H, W, H))
  if self.title then add("<title>" .. esc(self.title) .. "</title>") end
  if self.desc then add("<desc>" .. esc(self.desc) .. "</desc>") end
  add(string.format('<defs><clipPath id="%s-clip"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>',
    self.id, c(m.l), c(m.t), c(pw), c(ph)))
  add(string.format('<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>', W, H))
  if self.title then
    add(string.format('<text x="%s" y="18" font-size="15" font-weight="bold" fill="#111">%s</text>', c(m.l),
      esc(self.title)))
  end
  -- legend
  for i, r in ipairs(rows) do
    local y = (self.title and 26 or 8) + (i - 1) * 20 + 10
    for _, it in ipairs(r) do
      local e, x = it.entry, it.x
      if e.kind == "line" then
        add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>', c(x), c(y),
          c(x + 28), c(y), e.color, c(e.width or 2), dash_attr(e.dash)))
      elseif e.kind == "marker" then
        add(marker(e.shape, x + 14, y, 4, e.color, e.fill))
      else
        add(string.format('<rect x="%s" y="%s" width="28" height="11" fill="%s" stroke="%s"/>', c(x), c(y - 6),
          e.fill or e.color, e.color))
      end
      add(string.format('<text x="%s" y="%s" fill="#222">%s</text>', c(x + 34), c(y + 4), esc(e.label)))
    end
  end
  -- shaded ranges (under the grid)
  local clip = string.format(' clip-path="url(#%s-clip)"', self.id)
  add("<g" .. clip .. ">")
  for _, it in ipairs(self.items) do
    if it.kind == "shade" and ok_x(self, it.x0) and ok_x(self, it.x1) then
      local x0, x1 = self:sx(it.x0), self:sx(it.x1)
      add(string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>', c(math.min(x0, x1)), c(m.t),
        c(math.abs(x1 - x0)), c(ph), it.style.fill or "#eee",
        it.style.opacity and (' fill-opacity="' .. it.style.opacity .. '"') or ""))
      if it.style.label then
        add(string.format('<text x="%s" y="%s" text-anchor="middle" font-size="10" fill="#555">%s</text>',
          c((x0 + x1) / 2), c(m.t + 12), esc(it.style.label)))
      end
    end
  end
  add("</g>")
  -- grid and axes
  local xfmt = self.xa.format or M.short
  local yfmt = self.ya.format or M.short
  for _, t in ipairs(self.ya.tick_list) do
    if ok_y(self, t) then
      local y = self:sy(t)
      add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>', c(m.l), c(y), c(m.l + pw), c(y)))
      add(string.format('<text x="%s" y="%s" text-anchor="end" fill="#333">%s</text>', c(m.l - 6), c(y + 4),
        esc(yfmt(t))))
    end
  end
  for _, t in ipairs(self.xopt.categories and {} or self.xa.tick_list) do
    if ok_x(self, t) then
      local x = self:sx(t)
      add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#eeeeee"/>', c(x), c(m.t), c(x), c(m.t + ph)))
      add(string.format('<text x="%s" y="%s" text-anchor="middle" fill="#333">%s</text>', c(x), c(m.t + ph + 16),
        esc(xfmt(t))))
    end
  end
  for _, cat in ipairs(self.xopt.categories or {}) do
    local x = self:sx(cat.x)
    add(string.format('<text x="%s" y="%s" text-anchor="middle" fill="#333">%s</text>', c(x), c(m.t + ph + 16),
      esc(cat.label)))
    if cat.sub then
      add(string.format('<text x="%s" y="%s" text-anchor="middle" font-size="10" fill="#666">%s</text>', c(x),
        c(m.t + ph + 29), esc(cat.sub)))
    end
  end
  add(string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#888"/>', c(m.l), c(m.t), c(pw),
    c(ph)))
  if self.xopt.label then
    add(string.format('<text x="%s" y="%s" text-anchor="middle" fill="#111">%s</text>', c(m.l + pw / 2), c(H - 8),
      esc(self.xopt.label)))
  end
  if self.yopt.label then
    add(string.format('<text x="14" y="%s" text-anchor="middle" fill="#111" transform="rotate(-90 14 %s)">%s</text>',
      c(m.t + ph / 2), c(m.t + ph / 2), esc(self.yopt.label)))
  end
  -- zero line on a linear y axis that crosses 0
  if not self.ya.log and self.ya.lo < 0 and self.ya.hi > 0 then
    add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#444"/>', c(m.l), c(self:sy(0)), c(m.l + pw),
      c(self:sy(0))))
  end
  -- items
  add("<g" .. clip .. ">")
  for _, it in ipairs(self.items) do
    local st = it.style
    if it.kind == "line" then
      local d, pen = {}, false
      for _, p in ipairs(it.points) do
        if ok_x(self, p[1]) and ok_y(self, p[2]) then
          d[#d + 1] = (pen and "L" or "M") .. c(self:sx(p[1])) .. " " .. c(self:sy(p[2]))
          pen = true
        else
          pen = false
        end
      end
      if #d > 0 then
        add(string.format('<path d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s/>',
          table.concat(d), st.color or "#333", c(st.width or 2), dash_attr(st.dash)))
      end
    elseif it.kind == "markers" then
      for _, p in ipairs(it.points) do
        if ok_x(self, p[1]) and ok_y(self, p[2]) then
          add(marker(st.shape, self:sx(p[1]), self:sy(p[2]), st.size, st.color or "#111", st.fill))
        end
      end
    elseif it.kind == "bars" then
      local base = self.ya.log and self.ya.lo or math.max(self.ya.lo, math.min(0, self.ya.hi))
      for _, b in ipairs(it.bars) do
        if ok_x(self, b.x0) and ok_x(self, b.x1) and ok_y(self, b.y) then
          local x0, x1 = self:sx(b.x0), self:sx(b.x1)
          local y0, y1 = self:sy(base), self:sy(b.y)
          add(string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s"/>', c(math.min(x0, x1)),
            c(math.min(y0, y1)), c(math.abs(x1 - x0)), c(math.max(0.5, math.abs(y1 - y0))), b.color or st.color or "#555",
            st.stroke or "#222"))
          if b.label then
            local ly = b.y >= 0 and math.min(y0, y1) - 4 or math.max(y0, y1) + 13
            add(string.format('<text x="%s" y="%s" text-anchor="middle" font-size="11" fill="#111">%s</text>',
              c((x0 + x1) / 2), c(ly), esc(b.label)))
          end
        end
      end
    elseif it.kind == "vline" and ok_x(self, it.x) then
      local x = self:sx(it.x)
      add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>', c(x), c(m.t), c(x),
        c(m.t + ph), st.color or "#555", c(st.width or 1.5), dash_attr(st.dash or "5 4")))
      if st.label then
        local right = x < m.l + pw * 0.7
        add(string.format('<text x="%s" y="%s" text-anchor="%s" font-size="11" fill="%s">%s</text>',
          c(x + (right and 5 or -5)), c(m.t + 26), right and "start" or "end", st.color or "#555", esc(st.label)))
      end
    elseif it.kind == "hline" and ok_y(self, it.y) then
      local y = self:sy(it.y)
      add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"%s/>', c(m.l), c(y), c(m.l + pw), c(y),
        st.color or "#555", dash_attr(st.dash or "5 4")))
    elseif it.kind == "note" and ok_x(self, it.x) and ok_y(self, it.y) then
      add(string.format('<text x="%s" y="%s" text-anchor="%s" font-size="11" fill="%s">%s</text>', c(self:sx(it.x)),
        c(self:sy(it.y)), st.anchor or "start", st.color or "#111", esc(it.text)))
    end
  end
  add("</g></svg>")
  return table.concat(out)
end

return M
