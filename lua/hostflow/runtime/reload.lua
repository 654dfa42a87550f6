-- hostflow.runtime.reload: hot reload in one worker (core/engine/reload.h).
--
-- A reload is a plan the worker goes through in three steps, each a call of
-- control() from the C side:
--
--   prepare(id, files, manual, params)
--                        check the plan's files ({ path, src } each) under
--                        the configuration's parameters (params, or nil:
--                        unchanged): an unchanged one stays as it is (its
--                        functions, its loops and their traces); a new or
--                        changed one, or one whose parameters change, is
--                        checked (check.lua) and kept as a candidate
--   commit(id, accepted, from_ms, layout, gen, manual)
--                        the worker's decision, once every worker has
--                        checked: the accepted candidates and the versions
--                        that stay become a new set of analyses, laid out
--                        as generation gen for the windows starting at or
--                        after from_ms; windows that began before keep the
--                        old set; one log line per analysis (worker 0)
--   retire(gen)          no window uses generation gen any more
--
-- The functions taking rt are methods of the Runtime (init.lua).

local check = require "hostflow.runtime.check"
local isolation = require "hostflow.runtime.isolation"
local jobm = require "hostflow.runtime.job"
local params = require "hostflow.params"

local M = {}

local function iso(ms)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(ms / 1000))
end

--- Check the files of reload id ({ path, src } each), under the
-- parameters overrides (analyses.params: name -> values, or its Lua text;
-- nil: the current ones).  An analysis whose text is unchanged but whose
-- parameters are is checked again as a changed file is.  Returns, per
-- file, { state = "same" | "new" | "failed" | "skipped", name, version,
-- old_name, old_version, why }, and .removed (analyses running from a file
-- no longer there) and .disabled (analyses disabled now).
function M.prepare(rt, id, files, _, overrides)
  local res, names, listed, count = {}, {}, {}, 0
  rt.pending = { id = id, files = files, results = res, cand = {}, overrides = rt.overrides }
  local loaded = rt.loaded
  if overrides ~= nil then
    local ok, checked = pcall(check.overrides, overrides)
    if not ok then                             -- nothing can be checked
      for i, f in ipairs(files) do
        local old = loaded[f.path]
        res[i] = { state = "failed", why = checked, old_name = old and old.name, old_version = old and old.version }
      end
      res.removed, res.disabled = 0, 0
      return res
    end
    rt.pending.overrides = checked
  end
  overrides = rt.pending.overrides
  local params_changed = {}
  for i, f in ipairs(files) do               -- first the versions that stay
    listed[f.path] = true
    local old = loaded[f.path]
    res[i] = { old_name = old and old.name, old_version = old and old.version }
    if old then count = count + 1 end        -- it runs on, in one version or the other
    if old and old.src == f.src then
      local p, err = check.params(old.spec, overrides)
      if not p then
        res[i].state, res[i].name, res[i].why = "failed", old.name, f.path .. ": " .. err
        names[old.name] = f.path
      elseif p.key == old.params.key then
        res[i].state, res[i].name, res[i].version = "same", old.name, old.version
        names[old.name] = f.path
      else
        params_changed[i] = true               -- checked again with the new values, below
      end
    end
  end
  for i, f in ipairs(files) do               -- then the new ones
    local r = res[i]
    if not r.state then
      local spec, s, p = check.check(f.src, f.path, rt:check_opts(overrides))
      if not spec then
        r.state, r.why = "failed", s
      elseif not rt:wanted(spec.name) then
        r.state, r.name = "skipped", spec.name
      elseif names[spec.name] then
        r.state, r.name = "failed", spec.name
        r.why = string.format("%s: analysis name '%s' is already used by %s", f.path, spec.name,
                              names[spec.name])
      elseif not loaded[f.path] and count >= jobm.MAX_ANALYSES then
        r.state, r.name = "failed", spec.name
        r.why = string.format("%s: too many analyses (at most %d)", f.path, jobm.MAX_ANALYSES)
      else
        if not loaded[f.path] then count = count + 1 end
        r.state, r.name, r.version = "new", spec.name, spec.version
        local a = rt:new_analysis(spec, s, p, f.src, f.path)
        a.params_only = params_changed[i]
        rt.pending.cand[i] = a
        names[spec.name] = f.path
      end
    end
  end
  local removed, disabled = 0, 0
  for path in pairs(loaded) do
    if not listed[path] then removed = removed + 1 end
  end
  for _, e in ipairs(rt.sets[rt.current].list) do
    if not e.a.enabled then disabled = disabled + 1 end
  end
  res.removed, res.disabled = removed, disabled
  if rt.worker == 0 then
    for name in pairs(overrides) do
      local known = names[name]
      for _, a in pairs(loaded) do known = known or a.name == name end
      if not known then
        isolation.log(isolation.LOG_WARN, "analyses.params.%s: no analysis named '%s' (ignored)", name, name)
      end
    end
  end
  return res
end

--- Apply reload id: accepted[i] takes file i's new version; windows
-- starting at or after from_ms (nil: every window from now on) are laid
-- out in layout as generation gen.  Returns true when the new layout is
-- used, false when nothing but re-enabling changed.
function M.commit(rt, id, accepted, from_ms, layout, gen, manual)
  local p = rt.pending
  rt.pending = nil
  if not p or p.id ~= id then error("reload " .. tostring(id) .. " committed without its check", 0) end
  local loaded = rt.loaded
  local old_set = rt.sets[rt.current]
  local new_list, by, new_loaded, refused = {}, {}, {}, {}
  for i, f in ipairs(p.files) do             -- the versions that stay
    local old = loaded[f.path]
    if old and not (p.results[i].state == "new" and accepted[i]) and p.results[i].state ~= "skipped" then
      new_list[#new_list + 1], by[old.name], new_loaded[f.path] = old, old, old
    end
  end
  for i, f in ipairs(p.files) do             -- the new versions
    local a = p.cand[i]
    if a and accepted[i] then
      if by[a.name] then
        refused[#refused + 1] = string.format("%s: reload refused: analysis name '%s' is already used by %s",
                                              f.path, a.name, by[a.name].file)
      else
        new_list[#new_list + 1], by[a.name], new_loaded[f.path] = a, a, a
      end
    end
  end
  local lines = {}
  if manual then                              -- SIGHUP: a fresh start for disabled ones
    for _, a in ipairs(new_list) do
      if not a.enabled and a.slot then
        rt:set_enabled(a, true)
        lines[#lines + 1] = string.format("%s: re-enabled, version %s", a.name, a.version)
      end
    end
  end
  -- the analyses running now: the window set's and the profiles
  local old_list = {}
  for _, e in ipairs(old_set.list) do old_list[#old_list + 1] = e.a end
  for _, a in ipairs(rt.profiles) do old_list[#old_list + 1] = a end
  local in_old, changed = {}, #new_list ~= #old_list
  for _, a in ipairs(old_list) do in_old[a] = true end
  for _, a in ipairs(new_list) do
    if not in_old[a] then changed = true end
  end
  local when = from_ms and (", for windows from " .. iso(from_ms)) or ""
  if changed then
    local old_by_name, old_by_file = {}, {}
    for _, a in ipairs(old_list) do old_by_name[a.name], old_by_file[a.file] = a, a end
    for _, a in ipairs(new_list) do
      if not in_old[a] then
        local prev = old_by_name[a.name] or old_by_file[a.file]
        if prev and a.params_only then
          lines[#lines + 1] = string.format("%s: reloaded (params), version %s: %s", a.name, a.version,
                                            params.diff(prev.params.values, a.params.values))
        elseif prev then
          local was = prev.name ~= a.name and (" (was " .. prev.name .. ")") or ""
          lines[#lines + 1] = string.format("%s: reloaded, version %s from %s%s", a.name, a.version,
                                            prev.version, was)
        else
          lines[#lines + 1] = string.format("%s: loaded, version %s", a.name, a.version)
        end
      end
    end
    local listed = {}
    for _, f in ipairs(p.files) do listed[f.path] = true end
    for _, a in ipairs(old_list) do
      if not by[a.name] and not (new_loaded[a.file] and new_loaded[a.file] ~= a) then
        lines[#lines + 1] = string.format("%s: unloaded, version %s%s", a.name, a.version,
                                          listed[a.file] and "" or " (its file was removed)")
      end
    end
    local _, outcome = rt:build_set(new_list, layout, gen, false)
    for k, l in ipairs(lines) do            -- what a reloaded profile kept of what it learned
      for a, what in pairs(outcome) do
        if l:sub(1, #a.name + 2) == a.name .. ": " and l:find("reloaded", 1, true) then
          lines[k] = l .. (what == "kept" and "; its learned state is kept (its state is declared alike)"
                           or "; its state is declared otherwise: what it learned is dropped, it learns afresh")
        end
      end
    end
    rt.current = gen
    rt.loaded = new_loaded
  end
  rt.overrides = p.overrides
  if rt.worker == 0 then
    for _, l in ipairs(refused) do isolation.log(isolation.LOG_ERROR, "%s", l) end
    for _, l in ipairs(lines) do isolation.log(isolation.LOG_INFO, "%s%s", l, when) end
  end
  return changed
end

--- No window uses generation gen any more: drop its set.
function M.retire(rt, gen)
  rt.sets[gen] = nil
end

return M
