/* json_schema_str.c - strings: minLength / maxLength (in code points, as JSON Schema counts),
 * pattern (regex.c) and format; and the shared rules the schema's rules use.
 *
 * The formats follow what validators check (RFC 3339 for date, time and date-time, with the
 * month's real length and February 29 only in leap years; RFC 4122 uuid; the RFC 5321 dot-atom
 * form of email; an absolute uri with an authority). Each is a subset of what the format
 * allows (one canonical spelling: 'T' and 'Z' upper case, lower-case uuid hex, a time zone
 * always written), so every output validates. */
#include "sampler/json_schema_int.h"
#include "sampler/regex.h"

#include <string.h>

static const struct { const char *name; unsigned bit; const char *rule; } FORMATS[] = {
    {"date", JSS_F_DATE, "fmt-date"},
    {"time", JSS_F_TIME, "fmt-time"},
    {"date-time", JSS_F_DATE | JSS_F_TIME, "fmt-datetime"},
    {"uuid", JSS_F_UUID, "fmt-uuid"},
    {"email", JSS_F_EMAIL, "fmt-email"},
    {"uri", JSS_F_URI, "fmt-uri"},
};

static const char DATE_RULES[] =
    "fmt-date ::= [0-9]{4} \"-\" fmt-mday | fmt-leap \"-02-29\"\n"
    "fmt-mday ::= ( \"01\" | \"03\" | \"05\" | \"07\" | \"08\" | \"10\" | \"12\" ) \"-\""
    " ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )"
    " | ( \"04\" | \"06\" | \"09\" | \"11\" ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"30\" )"
    " | \"02-\" ( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] )\n"
    /* divisible by 4 and not by 100, or divisible by 400 */
    "fmt-leap ::= [0-9] [0-9] ( \"0\" [48] | [2468] [048] | [13579] [26] )"
    " | ( [02468] [048] | [13579] [26] ) \"00\"\n";
static const char TIME_RULES[] =
    "fmt-time ::= fmt-hh \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,9} )?"
    " ( \"Z\" | [+-] fmt-hh \":\" [0-5] [0-9] )\n"
    "fmt-hh ::= [01] [0-9] | \"2\" [0-3]\n";
static const char UUID_RULES[] =
    "fmt-uuid ::= fmt-x4 fmt-x4 \"-\" fmt-x4 \"-\" fmt-x4 \"-\" fmt-x4 \"-\" fmt-x4 fmt-x4 fmt-x4\n"
    "fmt-x4 ::= [0-9a-f] [0-9a-f] [0-9a-f] [0-9a-f]\n";
static const char EMAIL_RULES[] =
    "fmt-email ::= fmt-atom ( \".\" fmt-atom )* \"@\" ( fmt-label \".\" )+ fmt-label\n"
    "fmt-atom ::= [a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+\n"
    "fmt-label ::= [a-zA-Z0-9] ( [a-zA-Z0-9-]* [a-zA-Z0-9] )?\n";
static const char URI_RULES[] =
    "fmt-uri ::= [a-zA-Z] [a-zA-Z0-9+.-]* \"://\" [a-zA-Z0-9.-]+ ( \":\" [0-9]{1,5} )?"
    " ( \"/\" fmt-pchar* )* ( \"?\" fmt-qchar* )? ( \"#\" fmt-qchar* )?\n"
    "fmt-pchar ::= [a-zA-Z0-9._~!$&'()*+,;=:@-] | \"%\" hex hex\n"
    "fmt-qchar ::= fmt-pchar | [/?]\n";

void jss_write_shared(jss *g)
{
    if (g->uses & JSS_F_DATE)
        llmri_buf_puts(&g->out, DATE_RULES);
    if (g->uses & JSS_F_TIME)
        llmri_buf_puts(&g->out, TIME_RULES);
    if ((g->uses & JSS_F_DATE) && (g->uses & JSS_F_TIME))
        llmri_buf_puts(&g->out, "fmt-datetime ::= fmt-date \"T\" fmt-time\n");
    if (g->uses & JSS_F_UUID)
        llmri_buf_puts(&g->out, UUID_RULES);
    if (g->uses & JSS_F_EMAIL)
        llmri_buf_puts(&g->out, EMAIL_RULES);
    if (g->uses & JSS_F_URI)
        llmri_buf_puts(&g->out, URI_RULES);
    if (g->uses & JSS_F_KCHAR)
        llmri_buf_puts(&g->out, "kchar ::= [^\"\\\\\\x00-\\x1F]\n");
    if (g->uses & JSS_F_FRAC)
        llmri_buf_puts(&g->out, "frac-opt ::= ( \".\" [0-9]+ )?\n");
}

static int gen_format(jss *g, const cJSON *f, jss_name name)
{
    if (!cJSON_IsString(f))
        return jss_fail(g, LLMR_ERR_FORMAT, "format must be a string");
    for (size_t i = 0; i < sizeof FORMATS / sizeof *FORMATS; i++)
        if (strcmp(f->valuestring, FORMATS[i].name) == 0) {
            g->uses |= FORMATS[i].bit;
            jss_new_rule(g, name);
            llmri_buf_printf(&g->out, "%s ::= \"\\\"\" %s \"\\\"\"\n", name, FORMATS[i].rule);
            return LLMR_OK;
        }
    return jss_fail(g, LLMR_ERR_UNSUPPORTED, "format \"%.64s\" is not supported (supported: "
                    "date, time, date-time, uuid, email, uri)", f->valuestring);
}

static int gen_pattern(jss *g, const cJSON *p, jss_name name)
{
    if (!cJSON_IsString(p))
        return jss_fail(g, LLMR_ERR_FORMAT, "pattern must be a string");
    char inner[40];
    llmr_err e;
    int rc = llmri_regex_gbnf(p->valuestring, &g->out, &g->next_id, inner, &e);
    if (rc)
        return jss_fail(g, rc, "%s", e.msg);
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"\\\"\" %s \"\\\"\"\n", name, inner);
    return LLMR_OK;
}

int jss_string(jss *g, const cJSON *s, jss_name name)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    bool lens = cJSON_GetObjectItemCaseSensitive(s, "minLength") ||
                cJSON_GetObjectItemCaseSensitive(s, "maxLength");
    if ((fmt != NULL) + (pat != NULL) + lens > 1)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "%s together with %s is not supported",
                        fmt ? "format" : "pattern", lens ? "minLength/maxLength" : "pattern");
    if (fmt)
        return gen_format(g, fmt, name);
    if (pat)
        return gen_pattern(g, pat, name);
    int min, max, rc;
    if ((rc = jss_get_count(g, s, "minLength", 0, &min)) ||
        (rc = jss_get_count(g, s, "maxLength", -1, &max)))
        return rc;
    if (min == 0 && max < 0) {
        strcpy(name, "string");
        return LLMR_OK;
    }
    if (max >= 0 && max < min)
        return jss_fail(g, LLMR_ERR_FORMAT, "maxLength %d < minLength %d: no string fits", max,
                        min);
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"\\\"\" char", name);
    jss_count(&g->out, min, max);
    llmri_buf_printf(&g->out, " \"\\\"\"\n");
    return LLMR_OK;
}
