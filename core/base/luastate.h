/* luastate.h -- a LuaJIT state for the commands that run Lua in the main
 * thread (`hostflow check`, `hostflow query`), set up as a worker's is
 * (worker.c makes its state here too):
 * the standard libraries, and package.path led by <home>/lua so that
 * require "hostflow.*" finds hostflow's own modules; and where that home is. */
#ifndef HF_LUASTATE_H
#define HF_LUASTATE_H

#include <stddef.h>

#include <lua.h>

/* Where hostflow's own files are (lua/, analyses/, contrib/): $HOSTFLOW_HOME
 * when set; else the executable's directory when it holds lua/ (a source
 * tree); else the installed data directory (<datadir>/hostflow, found
 * beside the executable first, then at the compiled-in path).  Caller
 * frees (hf_free). */
char *hf_home_dir(void);
/* "<home>/<rel>", for the files under it.  Caller frees (hf_free). */
char *hf_home_path(const char *home, const char *rel);
/* The default configuration file for home: <home>/conf/hostflow.lua in a
 * source tree, <sysconfdir>/hostflow/hostflow.lua for an installation;
 * NULL when there is none (the defaults apply).  Caller frees. */
char *hf_home_conf(const char *home);
/* The configuration file an installation reads by default (compiled in:
 * "/etc/hostflow/hostflow.lua"), for --help and messages. */
const char *hf_installed_conf(void);

/* A new state with the libraries open and lua_dir (<home>/lua) first on
 * package.path: the one set-up of every state, a worker's included.  NULL
 * with a message in err when LuaJIT cannot make one. */
lua_State *hf_lua_state_new(const char *lua_dir, char *err, size_t errlen);

/* A message handler for lua_pcall: the error with a traceback appended
 * (a non-string error is left as it is, for the caller to inspect). */
int hf_lua_traceback(lua_State *L);

/* Call require(module)[func](arg table at the top of the stack), protected
 * by hf_lua_traceback.  Pops the table.  Returns the integer the function
 * returned (0 when it returned none), or -1 with the error in err. */
int hf_lua_call_main(lua_State *L, const char *module, const char *func,
                     char *err, size_t errlen);

#endif
