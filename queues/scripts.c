/* The registry of the job protocol's Lua scripts. The sources are in lua/<name>.lua, compiled in
 * by CMakeLists.txt as mf_lua.h (each one prelude.lua + the script). One script per state
 * change, so a record, its stream entry and its event are written together or not at all. */
#include <string.h>

#include "internal.h"
#include "mf_lua.h"

const mf__script mf__scripts[] = {
    {"enqueue", mf__lua_enqueue},   {"known", mf__lua_known},     {"start", mf__lua_start},
    {"done", mf__lua_done},         {"fail", mf__lua_fail},       {"release", mf__lua_release},
    {"retry", mf__lua_retry},       {"neardup", mf__lua_neardup}, {"beat", mf__lua_beat},
    {"progress", mf__lua_progress},
};

const size_t mf__nscripts = sizeof(mf__scripts) / sizeof(mf__scripts[0]);

int mf__script_find(const char *name)
{
    size_t i;

    for (i = 0; i < mf__nscripts; i++) {
        if (strcmp(mf__scripts[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}
