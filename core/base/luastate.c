/* luastate.c -- LuaJIT states for the main-thread commands (see luastate.h),
 * and where hostflow's own files are: its Lua side, analyses, sample and
 * configuration, in a source tree or an installation.
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

/* ------------------------------------------------------------------------
 * Where hostflow's files are
 *
 * Two layouts hold the same files:
 *
 *   a source tree              an installation (make install, the Debian package)
 *   <tree>/hostflow            <bindir>/hostflow
 *   <tree>/lua/hostflow/...    <datadir>/hostflow/lua/hostflow/...
 *   <tree>/analyses/           <datadir>/hostflow/analyses/
 *   <tree>/contrib/            <datadir>/hostflow/contrib/ (sample, queries, web)
 *   <tree>/conf/hostflow.lua   <sysconfdir>/hostflow/hostflow.lua
 *
 * "Home" is the directory that holds lua/: the tree, or <datadir>/hostflow.
 * The Makefile compiles in the installed paths (HF_DATADIR, HF_SYSCONFDIR)
 * and the same paths relative to <bindir> (HF_DATADIR_REL, ..._REL), so an
 * installation under DESTDIR, or a whole prefix moved elsewhere, finds its
 * own files before the compiled-in ones.
 * --------------------------------------------------------------------- */

#ifndef HF_DATADIR
#define HF_DATADIR "/usr/local/share/hostflow"
#endif
#ifndef HF_SYSCONFDIR
#define HF_SYSCONFDIR "/etc/hostflow"
#endif
#ifndef HF_DATADIR_REL
#define HF_DATADIR_REL "../share/hostflow"
#endif
#ifndef HF_SYSCONFDIR_REL
#define HF_SYSCONFDIR_REL "../../../etc/hostflow"
#endif

#define HF_CONF_NAME "hostflow.lua"

/* The directory of the executable, or "." when /proc does not say. */
static char *exe_dir(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return hf_strdup(".");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
    return hf_strdup(path);
}

/* dir holds hostflow's Lua side. */
static int is_home(const char *dir)
{
    char *p = hf_home_path(dir, "lua/hostflow/init.lua");
    int ok = access(p, R_OK) == 0;
    hf_free(p);
    return ok;
}

/* <exe dir>/<rel> without its "..", or NULL when that is not a home. */
static char *home_beside(const char *exe, const char *rel)
{
    char *p = hf_home_path(exe, rel), full[PATH_MAX];
    char *home = is_home(p) && realpath(p, full) ? hf_strdup(full) : NULL;
    hf_free(p);
    return home;
}

char *hf_home_dir(void)
{
    const char *env = getenv("HOSTFLOW_HOME");
    if (env && *env) return hf_strdup(env);
    char *exe = exe_dir();
    if (is_home(exe)) return exe;                                   /* a source tree */
    char *home = home_beside(exe, HF_DATADIR_REL);                  /* installed (DESTDIR too) */
    if (!home && is_home(HF_DATADIR)) home = hf_strdup(HF_DATADIR); /* the binary copied away */
    if (!home) return exe;                  /* as before: the messages will name this one */
    hf_free(exe);
    return home;
}

char *hf_home_path(const char *home, const char *rel)
{
    size_t n = strlen(home) + strlen(rel) + 2;
    char *p = hf_malloc(n);
    snprintf(p, n, "%s/%s", home, rel);
    return p;
}

/* Two paths name the same directory. */
static int same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

char *hf_home_conf(const char *home)
{
    char *p = hf_home_path(home, "conf/" HF_CONF_NAME);
    if (access(p, F_OK) == 0) return p;                     /* a source tree */
    hf_free(p);
    p = NULL;
    char *exe = exe_dir(), *data = hf_home_path(exe, HF_DATADIR_REL);
    if (same_dir(home, data)) {                             /* installed with this binary */
        char *etc = hf_home_path(exe, HF_SYSCONFDIR_REL);
        p = hf_home_path(etc, HF_CONF_NAME);
        hf_free(etc);
    } else if (same_dir(home, HF_DATADIR)) {                /* the compiled-in installation */
        p = hf_strdup(hf_installed_conf());
    }
    hf_free(data);
    hf_free(exe);
    if (p && access(p, F_OK) != 0) {                        /* none: the defaults apply */
        hf_free(p);
        p = NULL;
    }
    return p;
}

const char *hf_installed_conf(void)
{
    return HF_SYSCONFDIR "/" HF_CONF_NAME;
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
