/* luastate.c -- LuaJIT states for the main-thread commands (see luastate.h).
 *
 * `hostflow run` makes one state per worker (worker.c), `check` and `query`
 * one each, all with hf_lua_state_new(); check and query hand theirs a
 * table of options: everything after that is Lua (lua/hostflow/check.lua,
 * query.lua). */
#include "base/luastate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "base/alloc.h"

char *hf_home_dir(void)
{
    const char *env = getenv("HOSTFLOW_HOME");
    if (env && *env) return hf_strdup(env);
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return hf_strdup(".");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
    return hf_strdup(path);
}

char *hf_home_path(const char *home, const char *rel)
{
    size_t n = strlen(home) + strlen(rel) + 2;
    char *p = hf_malloc(n);
    snprintf(p, n, "%s/%s", home, rel);
    return p;
}

lua_State *hf_lua_state_new(const char *lua_dir, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(err, errlen, "cannot create a Lua state");
        return NULL;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", lua_dir, lua_dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    return L;
}

int hf_lua_traceback(lua_State *L)
{
    if (!lua_isstring(L, 1)) return 1;
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int hf_lua_call_main(lua_State *L, const char *module, const char *func,
                     char *err, size_t errlen)
{
    int opts = lua_gettop(L);
    lua_pushcfunction(L, hf_lua_traceback);
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    if (lua_pcall(L, 1, 1, opts + 1) != 0) goto fail;
    lua_getfield(L, -1, func);
    lua_remove(L, -2);
    lua_pushvalue(L, opts);
    if (lua_pcall(L, 1, 1, opts + 1) != 0) goto fail;
    int rc = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_settop(L, opts - 1);
    return rc;
fail:
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error (not a string)");
    lua_settop(L, opts - 1);
    return -1;
}
