/* report.c -- the counters of a run, as a table or as JSON (see report.h). */
#include "cmd/report.h"

#include <string.h>

#include "base/buf.h"
#include "base/timefmt.h"

/* The q-quantile of the close delays, in ms: the upper bound of the bucket
 * that holds it (so an over-estimate by at most 2x). */
static double delay_quantile_ms(const hf_worker_stats *st, double q)
{
    uint64_t n = 0, seen = 0;
    for (int i = 0; i < HF_DELAY_BUCKETS; i++) n += st->close_delay[i];
    if (n == 0) return 0;
    for (int i = 0; i < HF_DELAY_BUCKETS; i++) {
        seen += st->close_delay[i];
        if ((double)seen >= q * (double)n) return (double)(1ULL << i) / 1000.0;
    }
    return (double)(1ULL << (HF_DELAY_BUCKETS - 1)) / 1000.0;
}

static double elapsed_s(const hf_run_view *v)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - v->started.tv_sec) + (double)(now.tv_nsec - v->started.tv_nsec) / 1e9;
}

/* Whether reason r is a rejection: options and template records are
 * skipped (not flows), never rejected. */
static int is_rejection(int r)
{
    return r > 0 && r < HF_REASONS && r != HF_DECODE_OPTIONS && r != HF_DECODE_TEMPLATE;
}

static uint64_t rejected_total(const hf_stream_stats *s)
{
    uint64_t n = 0;
    for (int r = 1; r < HF_REASONS; r++)
        if (is_rejection(r)) n += s->rejected[r];
    return n;
}

/* A name into a fixed field. */
static void copy_name(char *dst, const char *src)
{
    snprintf(dst, HF_RUN_NAME, "%s", src ? src : "");
}

void hf_report_counters(const hf_run_view *v, hf_run_counters *c)
{
    hf_engine_totals t;
    hf_engine_totals_get(v->engine, &t);
    const hf_stream_stats *p = hf_pipeline_stats(v->pipeline);
    memset(c, 0, sizeof *c);
    c->seconds = elapsed_s(v);
    c->records_in = p->records;
    c->decoded = p->decoded;
    for (int r = 1; r < HF_REASONS && c->nrejected < HF_RUN_REASONS; r++) {
        if (!is_rejection(r)) continue;
        copy_name(c->rejected[c->nrejected].reason, hf_pipeline_reason_name(r));
        c->rejected[c->nrejected++].n = p->rejected[r];
    }
    c->filtered = p->filtered;
    c->late = p->late;
    c->accepted = p->accepted;
    c->replayed = p->replayed;
    c->held = p->held;
    c->skipped = p->skipped;
    c->hosts_refused = t.w.hosts_refused;
    c->records_out = t.w.records;
    c->memory_bytes = t.w.mem_bytes;
    for (int a = 0; a < t.w.nanalyses && c->nanalyses < HF_RUN_ANALYSES; a++, c->nanalyses++) {
        copy_name(c->analyses[a].name, t.w.analysis_names[a]);
        c->analyses[a].errors = t.w.analysis_errors[a];
        c->analyses[a].seconds = (t.w.analysis_ns[a] + t.w.result_ns[a]) / 1e9;
        c->analyses[a].disabled = t.w.analysis_disabled[a];
    }
    for (int i = 0; v->outputs && c->noutputs < HF_RUN_OUTPUTS; i++) {
        const char *spec;
        hf_output_counters oc;
        if (hf_outputs_get(v->outputs, i, &spec, &oc) < 0) break;
        copy_name(c->outputs[i].spec, spec);
        c->outputs[i].written = oc.written;
        c->outputs[i].pending = oc.pending;
        for (int k = 0; k < oc.nlost; k++) c->outputs[i].lost += oc.lost[k].n;
        c->output_lost += c->outputs[i].lost;
        c->noutputs++;
    }
    c->input_lag = v->input_ops && v->input_ops->lag && v->input ? v->input_ops->lag(v->input) : -1;
    c->closed_until_ms = t.closed_until;
    c->workers = t.nworkers;
}

void hf_report_text(const hf_run_view *v, FILE *f)
{
    hf_engine_totals t;
    hf_engine_totals_get(v->engine, &t);
    const hf_stream_stats *p = hf_pipeline_stats(v->pipeline);
    double secs = elapsed_s(v);
    hf_buf b;
    hf_buf_init(&b, 4096);
    char line[512];
#define OUT(...) (snprintf(line, sizeof line, __VA_ARGS__), hf_buf_puts(&b, line))
    int decoders = hf_pipeline_decoders(v->pipeline);
    char threads[64] = "";
    if (decoders) snprintf(threads, sizeof threads, ", %d decoder threads", decoders);
    if (v->cfg->role == HF_ROLE_SINGLE)
        OUT("hostflow counters after %.1f s (%d worker%s%s)\n", secs, t.nworkers,
            t.nworkers > 1 ? "s" : "", threads);
    else if (!v->engine)
        OUT("hostflow counters after %.1f s (role %s%s)\n", secs, hf_config_role_name(v->cfg->role),
            threads);
    else
        OUT("hostflow counters after %.1f s (role %s, %d worker%s%s)\n", secs,
            hf_config_role_name(v->cfg->role), t.nworkers, t.nworkers == 1 ? "" : "s", threads);
    /* the two sums add up (pipeline.h): read = decoded + rejected + skipped
     * (+ progress messages), decoded = monitored + not monitored + late +
     * read again (+ held aside) */
    char progress[64] = "";
    if (p->progress) snprintf(progress, sizeof progress, ", %llu progress messages",
                              (unsigned long long)p->progress);
    OUT("  input      %llu records: %llu decoded, %llu rejected, %llu skipped (IPFIX options and "
        "templates, not flows)%s; %.0f records/s\n",
        (unsigned long long)p->records, (unsigned long long)p->decoded,
        (unsigned long long)rejected_total(p), (unsigned long long)p->skipped, progress,
        secs > 0 ? (double)p->records / secs : 0.0);
    if (rejected_total(p)) {
        OUT("  rejected  ");
        for (int r = 1; r < HF_REASONS; r++)
            if (is_rejection(r) && p->rejected[r])
                OUT(" %s %llu", hf_pipeline_reason_name(r), (unsigned long long)p->rejected[r]);
        OUT("\n");
    }
    OUT("  decoded    %llu = %llu monitored + %llu not monitored + %llu late + %llu read again "
        "after a restart", (unsigned long long)p->decoded, (unsigned long long)p->accepted,
        (unsigned long long)p->filtered, (unsigned long long)p->late, (unsigned long long)p->replayed);
    if (p->held) OUT(" + %llu held aside (ahead in time)", (unsigned long long)p->held);
    if (p->to_destination)
        OUT(" (%llu not monitored but to a monitored destination)", (unsigned long long)p->to_destination);
    OUT("\n");
    if (p->clamped)
        OUT("  input      %llu flows ending before their start within max_clock_skew, start set to "
            "end\n", (unsigned long long)p->clamped);
    if (v->input_ops && v->input_ops->report) v->input_ops->report(v->input, &b);
    if (v->logs_ops) {
        uint64_t rej = 0;
        for (int r = 1; r < HF_LOG_REASONS; r++) rej += p->log_rejected[r];
        OUT("  logs       %llu lines, %llu events into windows, %llu not monitored, %llu late, "
            "%llu rejected", (unsigned long long)p->log_records, (unsigned long long)p->log_events,
            (unsigned long long)p->log_filtered, (unsigned long long)p->log_late, (unsigned long long)rej);
        for (int r = 1; r < HF_LOG_REASONS; r++)
            if (p->log_rejected[r])
                OUT(" %s %llu", hf_log_reason_name(r), (unsigned long long)p->log_rejected[r]);
        if (p->log_replayed) OUT(", %llu read again after a restart", (unsigned long long)p->log_replayed);
        OUT("\n");
        if (v->logs && v->logs_ops->report) v->logs_ops->report(v->logs, &b);
    }
    if (v->relay) {
        uint64_t flows, bytes;
        hf_relay_counts(v->relay, &flows, &bytes);
        OUT("  relay      %llu flows passed on, keyed by host (%s, %.1f bytes a flow)\n",
            (unsigned long long)flows, v->cfg->relay_format, flows ? (double)bytes / (double)flows : 0.0);
    }
    if (!v->engine) goto outputs;
    if (v->cfg->role == HF_ROLE_PARTIAL)
        OUT("  partials   %llu partial windows made, %.1f MiB, %.1f bytes each, %.2f bytes a flow\n",
            (unsigned long long)t.w.records, (double)t.w.partial_bytes / 1048576.0,
            t.w.records ? (double)t.w.partial_bytes / (double)t.w.records : 0.0,
            p->accepted ? (double)t.w.partial_bytes / (double)p->accepted : 0.0);
    if (v->cfg->role == HF_ROLE_MERGE) {
        char when[40] = "none yet";
        int64_t wm = hf_pipeline_closed_until(v->pipeline);
        if (wm == INT64_MAX) snprintf(when, sizeof when, "every input ended");
        else if (wm > INT64_MIN) hf_time_format_iso(wm, when);
        OUT("  merge      %llu partial windows merged, %llu late, %llu progress messages; "
            "windows closed through %s\n", (unsigned long long)t.w.partials,
            (unsigned long long)p->late, (unsigned long long)p->progress, when);
    }
    OUT("  windows   ");
    for (int l = 0; l < t.w.nlevels; l++) {
        if (!t.w.gran_ms[l]) continue;
        double per = t.windows_max[l] ? (double)t.w.hosts[l] / (double)t.windows_max[l] : 0;
        OUT(" %llds: %llu closed, %.1f hosts/window;", (long long)(t.w.gran_ms[l] / 1000),
            (unsigned long long)t.windows_max[l], per);
    }
    OUT("\n");
    OUT("  memory     %.1f MiB now, %.1f MiB peak, limit %.0f MiB; %llu host rows refused (memory)",
        (double)t.w.mem_bytes / 1048576.0, (double)t.w.mem_peak / 1048576.0,
        (double)v->cfg->memory_max / 1048576.0, (unsigned long long)t.w.hosts_refused);
    if (t.w.states_refused) OUT(", %llu detection states refused", (unsigned long long)t.w.states_refused);
    OUT("\n");
    OUT("  analyses   ms in update() + result():");
    for (int a = 0; a < t.w.nanalyses; a++) {
        OUT(" %s %.0f+%.0f", t.w.analysis_names[a], t.w.analysis_ns[a] / 1e6,
            t.w.result_ns[a] / 1e6);
        if (t.w.analysis_errors[a] > 0) OUT(" (%.0f errors)", t.w.analysis_errors[a]);
        if (t.w.analysis_disabled[a]) OUT(" (disabled)");
        OUT(a + 1 < t.w.nanalyses ? "," : "");
    }
    OUT("\n");
    if (t.w.alerts_raised || t.w.alerts_held)
        OUT("  alerts     %llu raised, %llu updated, %llu held while open, %llu closed early "
            "(alerts.max_open), %llu kept now\n", (unsigned long long)t.w.alerts_raised,
            (unsigned long long)t.w.alerts_updated, (unsigned long long)t.w.alerts_held,
            (unsigned long long)t.w.alerts_evicted, (unsigned long long)t.w.alerts_open);
    if (t.w.profile_hosts || t.w.profile_absorbed || t.w.profile_refused || t.w.profile_refused_memory)
        OUT("  profiles   %llu hosts, %.1f MiB (%.0f bytes a host); %llu host-windows absorbed, %llu "
            "skipped (absorbed before), %llu refused (profiles.max_hosts), %llu refused (memory), "
            "%llu hosts forgotten (profiles.expire); %llu saves%s\n",
            (unsigned long long)t.w.profile_hosts, (double)t.w.profile_bytes / 1048576.0,
            t.w.profile_hosts ? (double)t.w.profile_bytes / (double)t.w.profile_hosts : 0.0,
            (unsigned long long)t.w.profile_absorbed, (unsigned long long)t.w.profile_skipped,
            (unsigned long long)t.w.profile_refused, (unsigned long long)t.w.profile_refused_memory,
            (unsigned long long)t.w.profile_expired,
            (unsigned long long)t.w.profile_saves, t.w.profile_save_errors ? " (some failed)" : "");
    if (v->cfg->profiles_topic)
        OUT("  changelog  %llu messages written to %s; %llu rows taken from it, %llu refused (malformed), "
            "%llu of another declaration; %llu hosts held aside now\n",
            (unsigned long long)t.w.changelog_published, v->cfg->profiles_topic,
            (unsigned long long)t.w.changelog_taken, (unsigned long long)t.w.changelog_refused,
            (unsigned long long)t.w.changelog_other, (unsigned long long)t.w.profile_aside);
    OUT("  output     %llu records made; window close to records written: p50 < %.3g ms, p99 < %.3g ms\n",
        (unsigned long long)t.w.records, delay_quantile_ms(&t.w, 0.5), delay_quantile_ms(&t.w, 0.99));
outputs:
    for (int i = 0;; i++) {
        const char *spec;
        hf_output_counters c;
        if (!v->outputs || hf_outputs_get(v->outputs, i, &spec, &c) < 0) break;
        OUT("    -o %-18s %llu written", spec, (unsigned long long)c.written);
        if (c.pending) OUT(", %llu waiting", (unsigned long long)c.pending);
        if (c.retried) OUT(", %llu retried", (unsigned long long)c.retried);
        if (c.dead_letters) OUT(", %llu dead letters", (unsigned long long)c.dead_letters);
        for (int k = 0; k < c.nlost; k++)
            OUT(", %llu lost (%s)", (unsigned long long)c.lost[k].n, c.lost[k].reason);
        if (strcmp(c.state, "ok")) OUT(" [%s]", c.state);
        for (int k = 0; k < c.nfigures; k++)   /* the output's own measures */
            OUT(c.figures[k].value == (double)(long long)c.figures[k].value ? "%s%s %.0f" : "%s%s %.1f",
                k ? ", " : "; ", c.figures[k].name, c.figures[k].value);
        OUT("\n");
    }
#undef OUT
    fwrite(b.data, 1, b.len, f);
    fflush(f);
    hf_buf_release(&b);
}

int hf_report_json(const hf_run_view *v, const char *path)
{
    hf_engine_totals t;
    hf_engine_totals_get(v->engine, &t);
    const hf_stream_stats *p = hf_pipeline_stats(v->pipeline);
    hf_buf b;
    hf_buf_init(&b, 4096);
    hf_buf_puts(&b, "{\"role\":");
    hf_buf_put_string(&b, hf_config_role_name(v->cfg->role), strlen(hf_config_role_name(v->cfg->role)));
    if (v->relay) {
        uint64_t flows, bytes;
        hf_relay_counts(v->relay, &flows, &bytes);
        hf_buf_puts(&b, ",\"relayed\":{\"flows\":");
        hf_buf_put_int(&b, (int64_t)flows);
        hf_buf_puts(&b, ",\"bytes\":");
        hf_buf_put_int(&b, (int64_t)bytes);
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, ",\"records_read\":");
    hf_buf_put_int(&b, (int64_t)p->records);
    hf_buf_puts(&b, ",\"decoded\":");
    hf_buf_put_int(&b, (int64_t)p->decoded);
    hf_buf_puts(&b, ",\"rejected\":{");
    int first = 1;
    for (int r = 1; r < HF_REASONS; r++) {
        if (!is_rejection(r)) continue;                             /* skipped, not rejected */
        if (!first) hf_buf_putc(&b, ',');
        first = 0;
        hf_buf_put_string(&b, hf_pipeline_reason_name(r), strlen(hf_pipeline_reason_name(r)));
        hf_buf_putc(&b, ':');
        hf_buf_put_int(&b, (int64_t)p->rejected[r]);
    }
    hf_buf_puts(&b, "},\"rejected_total\":");
    hf_buf_put_int(&b, (int64_t)rejected_total(p));
    hf_buf_puts(&b, ",\"monitored\":");
    hf_buf_put_int(&b, (int64_t)p->accepted);
    hf_buf_puts(&b, ",\"filtered\":");
    hf_buf_put_int(&b, (int64_t)p->filtered);
    hf_buf_puts(&b, ",\"to_destination\":");
    hf_buf_put_int(&b, (int64_t)p->to_destination);
    hf_buf_puts(&b, ",\"late\":");
    hf_buf_put_int(&b, (int64_t)p->late);
    hf_buf_puts(&b, ",\"first_record_s\":");
    hf_buf_put_number(&b, p->first_ns / 1e9);
    hf_buf_puts(&b, ",\"last_record_s\":");
    hf_buf_put_number(&b, p->last_ns / 1e9);
    hf_buf_puts(&b, ",\"replayed\":");
    hf_buf_put_int(&b, (int64_t)p->replayed);
    hf_buf_puts(&b, ",\"held_future\":");
    hf_buf_put_int(&b, (int64_t)p->held);
    hf_buf_puts(&b, ",\"skipped_options_templates\":");
    hf_buf_put_int(&b, (int64_t)p->skipped);
    hf_buf_puts(&b, ",\"clock_skew_clamped\":");
    hf_buf_put_int(&b, (int64_t)p->clamped);
    hf_buf_puts(&b, ",\"flows_analysed\":");
    hf_buf_put_int(&b, (int64_t)t.w.flows);
    if (v->cfg->role == HF_ROLE_PARTIAL) {
        hf_buf_puts(&b, ",\"partial_bytes\":");
        hf_buf_put_int(&b, (int64_t)t.w.partial_bytes);
    }
    if (v->cfg->role == HF_ROLE_MERGE) {
        hf_buf_puts(&b, ",\"partials_merged\":");
        hf_buf_put_int(&b, (int64_t)t.w.partials);
        hf_buf_puts(&b, ",\"progress_messages\":");
        hf_buf_put_int(&b, (int64_t)p->progress);
    }
    hf_buf_puts(&b, ",\"hosts_refused_memory\":");
    hf_buf_put_int(&b, (int64_t)t.w.hosts_refused);
    hf_buf_puts(&b, ",\"states_refused_memory\":");
    hf_buf_put_int(&b, (int64_t)t.w.states_refused);
    hf_buf_puts(&b, ",\"records\":");
    hf_buf_put_int(&b, (int64_t)t.w.records);
    hf_buf_puts(&b, ",\"alerts\":{\"raised\":");
    hf_buf_put_int(&b, (int64_t)t.w.alerts_raised);
    hf_buf_puts(&b, ",\"updated\":");
    hf_buf_put_int(&b, (int64_t)t.w.alerts_updated);
    hf_buf_puts(&b, ",\"held\":");
    hf_buf_put_int(&b, (int64_t)t.w.alerts_held);
    hf_buf_puts(&b, ",\"evicted\":");
    hf_buf_put_int(&b, (int64_t)t.w.alerts_evicted);
    hf_buf_puts(&b, ",\"open\":");
    hf_buf_put_int(&b, (int64_t)t.w.alerts_open);
    hf_buf_puts(&b, "}");
    hf_buf_puts(&b, ",\"logs\":{\"lines\":");
    hf_buf_put_int(&b, (int64_t)p->log_records);
    hf_buf_puts(&b, ",\"events\":");
    hf_buf_put_int(&b, (int64_t)p->log_events);
    hf_buf_puts(&b, ",\"not_monitored\":");
    hf_buf_put_int(&b, (int64_t)p->log_filtered);
    hf_buf_puts(&b, ",\"late\":");
    hf_buf_put_int(&b, (int64_t)p->log_late);
    hf_buf_puts(&b, ",\"replayed\":");
    hf_buf_put_int(&b, (int64_t)p->log_replayed);
    hf_buf_puts(&b, ",\"rejected\":{");
    for (int r = 1; r < HF_LOG_REASONS; r++) {
        if (r > 1) hf_buf_putc(&b, ',');
        hf_buf_put_string(&b, hf_log_reason_name(r), strlen(hf_log_reason_name(r)));
        hf_buf_putc(&b, ':');
        hf_buf_put_int(&b, (int64_t)p->log_rejected[r]);
    }
    hf_buf_puts(&b, "}}");
    hf_buf_puts(&b, ",\"profiles\":{\"hosts\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_hosts);
    hf_buf_puts(&b, ",\"bytes\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_bytes);
    hf_buf_puts(&b, ",\"absorbed\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_absorbed);
    hf_buf_puts(&b, ",\"skipped\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_skipped);
    hf_buf_puts(&b, ",\"refused\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_refused);
    hf_buf_puts(&b, ",\"refused_memory\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_refused_memory);
    hf_buf_puts(&b, ",\"expired\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_expired);
    hf_buf_puts(&b, ",\"saves\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_saves);
    hf_buf_puts(&b, ",\"save_errors\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_save_errors);
    hf_buf_puts(&b, ",\"aside\":");
    hf_buf_put_int(&b, (int64_t)t.w.profile_aside);
    hf_buf_puts(&b, ",\"changelog\":{\"written\":");
    hf_buf_put_int(&b, (int64_t)t.w.changelog_published);
    hf_buf_puts(&b, ",\"taken\":");
    hf_buf_put_int(&b, (int64_t)t.w.changelog_taken);
    hf_buf_puts(&b, ",\"refused\":");
    hf_buf_put_int(&b, (int64_t)t.w.changelog_refused);
    hf_buf_puts(&b, ",\"other_declaration\":");
    hf_buf_put_int(&b, (int64_t)t.w.changelog_other);
    hf_buf_puts(&b, "}}");
    hf_buf_puts(&b, ",\"memory_peak_bytes\":");
    hf_buf_put_int(&b, (int64_t)t.w.mem_peak);
    hf_buf_puts(&b, ",\"close_delay_ms\":{\"p50\":");
    hf_buf_put_number(&b, delay_quantile_ms(&t.w, 0.5));
    hf_buf_puts(&b, ",\"p99\":");
    hf_buf_put_number(&b, delay_quantile_ms(&t.w, 0.99));
    hf_buf_puts(&b, "}");
    hf_buf_puts(&b, ",\"workers\":");
    hf_buf_put_int(&b, t.nworkers);
    hf_buf_puts(&b, ",\"decoders\":");
    hf_buf_put_int(&b, hf_pipeline_decoders(v->pipeline));
    hf_buf_puts(&b, ",\"windows\":{");
    first = 1;
    for (int l = 0; l < t.w.nlevels; l++) {
        if (!t.w.gran_ms[l]) continue;
        if (!first) hf_buf_putc(&b, ',');
        first = 0;
        hf_buf_putc(&b, '"');
        hf_buf_put_int(&b, t.w.gran_ms[l] / 1000);
        hf_buf_puts(&b, "\":{\"records\":");
        hf_buf_put_int(&b, (int64_t)t.w.hosts[l]);
        hf_buf_puts(&b, ",\"windows\":");
        hf_buf_put_int(&b, (int64_t)t.windows_max[l]);
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, "},\"analyses\":{");
    for (int a = 0; a < t.w.nanalyses; a++) {
        if (a) hf_buf_putc(&b, ',');
        hf_buf_put_string(&b, t.w.analysis_names[a], strlen(t.w.analysis_names[a]));
        hf_buf_puts(&b, ":{\"update_ms\":");
        hf_buf_put_number(&b, t.w.analysis_ns[a] / 1e6);
        hf_buf_puts(&b, ",\"result_ms\":");
        hf_buf_put_number(&b, t.w.result_ns[a] / 1e6);
        hf_buf_puts(&b, ",\"errors\":");
        hf_buf_put_number(&b, t.w.analysis_errors[a]);
        hf_buf_puts(&b, t.w.analysis_disabled[a] ? ",\"disabled\":true" : ",\"disabled\":false");
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, "},\"outputs\":[");
    for (int i = 0;; i++) {
        const char *spec;
        hf_output_counters c;
        if (!v->outputs || hf_outputs_get(v->outputs, i, &spec, &c) < 0) break;
        if (i) hf_buf_putc(&b, ',');
        hf_buf_puts(&b, "{\"output\":");
        hf_buf_put_string(&b, spec, strlen(spec));
        hf_buf_puts(&b, ",\"written\":");
        hf_buf_put_int(&b, (int64_t)c.written);
        hf_buf_puts(&b, ",\"pending\":");
        hf_buf_put_int(&b, (int64_t)c.pending);
        hf_buf_puts(&b, ",\"retried\":");
        hf_buf_put_int(&b, (int64_t)c.retried);
        hf_buf_puts(&b, ",\"dead_letters\":");
        hf_buf_put_int(&b, (int64_t)c.dead_letters);
        hf_buf_puts(&b, ",\"lost\":{");
        for (int k = 0; k < c.nlost; k++) {
            if (k) hf_buf_putc(&b, ',');
            hf_buf_put_string(&b, c.lost[k].reason, strlen(c.lost[k].reason));
            hf_buf_putc(&b, ':');
            hf_buf_put_int(&b, (int64_t)c.lost[k].n);
        }
        hf_buf_puts(&b, "},\"state\":");
        hf_buf_put_string(&b, c.state, strlen(c.state));
        for (int k = 0; k < c.nfigures; k++) {
            hf_buf_putc(&b, ',');
            hf_buf_put_string(&b, c.figures[k].name, strlen(c.figures[k].name));
            hf_buf_putc(&b, ':');
            hf_buf_put_number(&b, c.figures[k].value);
        }
        hf_buf_putc(&b, '}');
    }
    hf_buf_puts(&b, "],\"seconds\":");
    hf_buf_put_number(&b, elapsed_s(v));
    hf_buf_puts(&b, "}\n");
    FILE *f = fopen(path, "w");
    int rc = -1;
    if (f) {
        rc = fwrite(b.data, 1, b.len, f) == b.len ? 0 : -1;
        if (fclose(f) != 0) rc = -1;
    }
    hf_buf_release(&b);
    return rc;
}

