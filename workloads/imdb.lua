-- imdb: a synthetic dataset shaped like IMDb's public files (titles,
-- people, principals, ratings, genres) and the queries a film site runs on
-- it: a title's page, a person's filmography, top-rated titles of a genre in
-- a decade, a person's most frequent co-stars, a genre's ratings by decade,
-- and a trickle of votes. Joins and aggregations over skewed data: a few
-- people appear in very many titles (zipfian), as in the real thing.
--
-- Tables (schema "imdb"; cleanup drops it): titles, people, principals,
-- ratings, genres.
local db = require "stormdb.db"

local TITLES, PEOPLE = 20000, 40000 -- per scale unit
local FIRST_YEAR, LAST_YEAR = 1920, 2024
local GENRES = { "Drama", "Comedy", "Documentary", "Action", "Romance", "Thriller", "Crime", "Horror",
  "Adventure", "Family", "Animation", "Mystery", "Fantasy", "Sci-Fi", "Biography", "History", "Music",
  "War", "Western", "Musical", "Sport" }
local TYPES = { "movie", "movie", "movie", "short", "tvSeries", "tvMovie", "tvEpisode", "tvEpisode", "video" }
local CREW = { "director", "writer", "producer", "composer", "cinematographer", "editor" }
local SCATTER = 1000003 -- rank -> id bijection (see product_of_rank in ecommerce.lua)

local S = {}
S.title = db.prepare([[SELECT t.title_id, t.title_type, t.primary_title, t.start_year, t.runtime_minutes,
    r.average_rating, r.num_votes,
    (SELECT string_agg(genre, ',' ORDER BY genre) FROM imdb.genres g WHERE g.title_id = t.title_id) AS genres
  FROM imdb.titles t LEFT JOIN imdb.ratings r ON r.title_id = t.title_id WHERE t.title_id = $1]])
S.cast = db.prepare([[SELECT p.ordering, p.category, p.characters, pe.person_id, pe.name
  FROM imdb.principals p JOIN imdb.people pe ON pe.person_id = p.person_id
  WHERE p.title_id = $1 ORDER BY p.ordering]])
S.filmography = db.prepare([[SELECT t.title_id, t.primary_title, t.start_year, p.category, p.characters,
    r.average_rating
  FROM imdb.principals p JOIN imdb.titles t ON t.title_id = p.title_id
  LEFT JOIN imdb.ratings r ON r.title_id = t.title_id
  WHERE p.person_id = $1 ORDER BY t.start_year DESC, t.title_id]])
S.top_rated = db.prepare([[SELECT t.title_id, t.primary_title, t.start_year, r.average_rating, r.num_votes
  FROM imdb.genres g JOIN imdb.titles t ON t.title_id = g.title_id
  JOIN imdb.ratings r ON r.title_id = g.title_id
  WHERE g.genre = $1 AND t.start_year BETWEEN $2 AND $2 + 9 AND r.num_votes >= $3
  ORDER BY r.average_rating DESC, r.num_votes DESC LIMIT 20]])
S.co_stars = db.prepare([[SELECT other.person_id, pe.name, count(*) AS titles
  FROM imdb.principals me
  JOIN imdb.principals other ON other.title_id = me.title_id AND other.person_id <> me.person_id
  JOIN imdb.people pe ON pe.person_id = other.person_id
  WHERE me.person_id = $1 AND other.category IN ('actor', 'actress')
  GROUP BY other.person_id, pe.name ORDER BY titles DESC, other.person_id LIMIT 10]])
S.genre_decades = db.prepare([[SELECT t.start_year / 10 * 10 AS decade, count(*) AS titles,
    round(avg(r.average_rating), 2) AS rating, sum(r.num_votes) AS votes
  FROM imdb.genres g JOIN imdb.titles t ON t.title_id = g.title_id
  JOIN imdb.ratings r ON r.title_id = g.title_id
  WHERE g.genre = $1 GROUP BY 1 ORDER BY 1]])
S.vote = db.prepare([[UPDATE imdb.ratings SET
    average_rating = round((average_rating * num_votes + $2) / (num_votes + 1), 1), num_votes = num_votes + 1
  WHERE title_id = $1]])

local TABLES = {
  [[CREATE TABLE imdb.titles (title_id int NOT NULL, title_type text NOT NULL, primary_title text NOT NULL,
    start_year smallint NOT NULL, runtime_minutes smallint)]],
  [[CREATE TABLE imdb.people (person_id int NOT NULL, name text NOT NULL, birth_year smallint,
    death_year smallint, primary_profession text NOT NULL)]],
  [[CREATE TABLE imdb.principals (title_id int NOT NULL, ordering smallint NOT NULL, person_id int NOT NULL,
    category text NOT NULL, characters text)]],
  [[CREATE TABLE imdb.ratings (title_id int NOT NULL, average_rating numeric(3,1) NOT NULL,
    num_votes int NOT NULL)]],
  [[CREATE TABLE imdb.genres (title_id int NOT NULL, genre text NOT NULL)]],
}

-- The secondary indexes are those of the queries: principals by person
-- (filmography, co-stars), genres by genre (top-rated, decades), titles by
-- year within a genre's titles is a filter on few rows, so no index there.
local INDEXES = {
  "ALTER TABLE imdb.titles ADD PRIMARY KEY (title_id)",
  "ALTER TABLE imdb.people ADD PRIMARY KEY (person_id)",
  "ALTER TABLE imdb.principals ADD PRIMARY KEY (title_id, ordering)",
  "CREATE INDEX principals_person ON imdb.principals (person_id, title_id)",
  "ALTER TABLE imdb.ratings ADD PRIMARY KEY (title_id)",
  "ALTER TABLE imdb.genres ADD PRIMARY KEY (title_id, genre)",
  "CREATE INDEX genres_genre ON imdb.genres (genre, title_id)",
}

local function sizes(scale) return { titles = TITLES * scale, people = PEOPLE * scale } end
local function of_rank(rank, n) return ((rank - 1) * SCATTER) % n + 1 end

-- Titles get more numerous with the years, as on IMDb.
local function year(r)
  return LAST_YEAR - math.min(math.floor(r:exponential(25)), LAST_YEAR - FIRST_YEAR)
end

local FIRST = { "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hugo", "Ines", "Jack", "Kim",
  "Louis", "Maria", "Nils", "Olga", "Paul", "Rosa", "Sam", "Tara", "Victor", "Wen", "Yuki", "Zoe", "Omar" }
local LAST = { "Abbott", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
  "Kowalski", "Lopez", "Moreau", "Novak", "Olsen", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda",
  "Varga", "Weber", "Young" }
-- Many people share a name, as on IMDb; the letters keep most apart.
local function name(r)
  return r:pick(FIRST) .. " " .. r:pick(LAST) .. (r:uniform(1, 3) == 1 and "" or " " .. r:astring(2, 6):upper())
end

local function load_titles(task, n)
  local r, d = task.rand, task.db
  local copy = d:copy("COPY imdb.titles (title_id, title_type, primary_title, start_year, runtime_minutes) FROM STDIN")
  for t = 1, n do
    local kind = r:pick(TYPES)
    copy:row(t, kind, r:astring(3, 12) .. " " .. r:astring(2, 10), year(r),
      r:uniform(1, 10) == 1 and nil or (kind == "short" and r:uniform(3, 30) or r:uniform(40, 180)))
  end
  copy:finish()
  copy = d:copy("COPY imdb.genres (title_id, genre) FROM STDIN")
  for t = 1, n do
    -- 1..3 distinct genres, the common ones more often
    local g1 = math.min(math.floor(r:exponential(4)) + 1, #GENRES)
    copy:row(t, GENRES[g1])
    local extra = r:uniform(0, 2)
    local used = { [g1] = true }
    for _ = 1, extra do
      local g = r:uniform(1, #GENRES)
      if not used[g] then
        used[g] = true
        copy:row(t, GENRES[g])
      end
    end
  end
  copy:finish()
  copy = d:copy("COPY imdb.ratings (title_id, average_rating, num_votes) FROM STDIN")
  for t = 1, n do
    if r:uniform(1, 5) > 1 then -- 80% of titles are rated
      local rating = math.max(1, math.min(10, r:gaussian(6.3, 1.3)))
      copy:row(t, string.format("%.1f", rating), math.floor(r:exponential(800)) + 5)
    end
  end
  copy:finish()
end

local function load_people(task, n)
  local r = task.rand
  local copy = task.db:copy([[COPY imdb.people (person_id, name, birth_year, death_year, primary_profession)
    FROM STDIN]])
  for p = 1, n do
    local born = r:uniform(1, 10) <= 7 and r:uniform(1880, 2005) or nil
    local died = born and born < 1950 and r:uniform(1, 3) > 1 and math.min(born + r:uniform(30, 95), 2024) or nil
    copy:row(p, name(r), born, died, r:uniform(1, 2) == 1 and "actor" or r:pick(CREW))
  end
  copy:finish()
end

-- Principals of titles part..n by `parts`: a director, a writer, 3..8 cast
-- members, sometimes more crew; cast drawn zipfian over people, so the
-- famous appear in hundreds of titles.
local function load_principals(task, part, parts, sz, theta)
  local r = task.rand
  local copy = task.db:copy([[COPY imdb.principals (title_id, ordering, person_id, category, characters)
    FROM STDIN]])
  for t = part, sz.titles, parts do
    local ord, seen = 0, {}
    local function add(person, category, characters)
      if seen[person] then return end
      seen[person] = true
      ord = ord + 1
      copy:row(t, ord, person, category, characters)
    end
    for _ = 1, r:uniform(3, 8) do
      add(of_rank(r:zipf(sz.people, theta), sz.people), r:uniform(1, 2) == 1 and "actor" or "actress",
        "[\"" .. r:astring(4, 12) .. "\"]")
    end
    add(of_rank(r:zipf(sz.people, theta), sz.people), "director", nil)
    add(r:uniform(1, sz.people), "writer", nil)
    if r:uniform(1, 2) == 1 then add(r:uniform(1, sz.people), r:pick(CREW), nil) end
  end
  copy:finish()
end

return {
  name = "imdb",
  description = "IMDb-shaped titles, people, principals, ratings, genres: filmographies, top-rated, co-stars",
  options = {
    scale = { default = 1, min = 1, max = 10000,
      help = "20 000 titles, 40 000 people, ~160 000 principals per unit" },
    zipf_theta = { default = 0.5, type = "number", min = 0.01, max = 0.999,
      help = "skew of people's fame (how many titles the most cast people appear in, and how often they are looked up)" },
  },

  setup = function(ctx)
    local sz, theta = sizes(ctx.opt.scale), ctx.opt.zipf_theta
    ctx.db:exec("DROP SCHEMA IF EXISTS imdb CASCADE")
    ctx.db:exec("CREATE SCHEMA imdb")
    for _, sql in ipairs(TABLES) do ctx.db:exec(sql) end
    ctx:log("imdb: loading %d titles, %d people", sz.titles, sz.people)
    ctx:parallel(4, function(task, i)
      if i == 1 then load_titles(task, sz.titles)
      elseif i == 2 then load_people(task, sz.people)
      else load_principals(task, i - 2, 2, sz, theta) end
    end)
    ctx:log("imdb: indexes")
    ctx:parallel(#INDEXES, function(task, i) task.db:exec(INDEXES[i]) end)
    ctx:log("imdb: vacuum analyze")
    ctx:parallel(#TABLES, function(task, i)
      task.db:exec("VACUUM ANALYZE imdb." .. TABLES[i]:match("imdb%.([%w_]+)"))
    end)
  end,

  cleanup = function(ctx)
    ctx.db:exec("DROP SCHEMA IF EXISTS imdb CASCADE")
  end,

  init = function(w)
    w.sz = sizes(w.opt.scale)
    local n = w.db:value("SELECT count(*) FROM imdb.titles")
    if n ~= w.sz.titles then
      error(string.format("imdb: the database holds %d titles, --scale=%d expects %d (run stormdb setup imdb --scale=%d)",
        n, w.opt.scale, w.sz.titles, w.opt.scale), 0)
    end
    w.theta = w.opt.zipf_theta
  end,

  transactions = {
    {
      name = "title_page", weight = 30,
      run = function(w)
        local t = w.rand:uniform(1, w.sz.titles)
        w.db:row(S.title, t)
        w.db:query(S.cast, t)
      end,
    },
    {
      name = "filmography", weight = 25,
      run = function(w)
        w.db:query(S.filmography, of_rank(w.rand:zipf(w.sz.people, w.theta), w.sz.people))
      end,
    },
    {
      name = "top_rated", weight = 20,
      run = function(w)
        local r = w.rand
        local decade = math.floor(r:uniform(1950, LAST_YEAR) / 10) * 10
        w.db:query(S.top_rated, GENRES[math.min(math.floor(r:exponential(4)) + 1, #GENRES)], decade,
          r:pick({ 10, 100, 500 }))
      end,
    },
    {
      name = "co_stars", weight = 15,
      run = function(w)
        w.db:query(S.co_stars, of_rank(w.rand:zipf(w.sz.people, w.theta), w.sz.people))
      end,
    },
    {
      name = "genre_decades", weight = 5,
      run = function(w) w.db:query(S.genre_decades, w.rand:pick(GENRES)) end,
    },
    {
      name = "vote", weight = 5,
      run = function(w) w.db:exec(S.vote, w.rand:uniform(1, w.sz.titles), w.rand:uniform(1, 10)) end,
    },
  },
}
