/**
 * Export jobs: a finished explanation written as the self-contained HTML report (input images and
 * one PNG overlay per map, encoded here rather than on the extension host's thread) or as result.json.
 */
import * as path from 'node:path';
import { buildReportImages, renderHtmlReport } from '../core/report/html';
import { toJsonString } from '../core/report/json';
import { recoverInputs } from '../core/report/recover';
import { writeFileAtomic } from '../core/safety';
import type { ExportJob, ReportExported, WorkerEvent } from '../shared/protocol';
import type { CancellationSignal } from '../shared/types';

export async function runExportJob(
  jobId: number,
  job: ExportJob,
  signal: CancellationSignal,
  emit: (event: WorkerEvent) => void,
): Promise<ReportExported> {
  const { result } = job;
  let text: string;
  if (job.format === 'json') text = toJsonString(result, true) + '\n';
  else {
    // The same page `writeReport` writes as index.html: overlays over the inputs re-read from disk.
    const prepared = recoverInputs(result);
    const onProgress = (progress: { stage: string; done: number; total: number }) => emit({ kind: 'progress', jobId, progress });
    const images = buildReportImages(result, prepared, {}, { onProgress, signal });
    text = renderHtmlReport(result, images, job.evaluation ? { evaluation: job.evaluation } : {});
  }
  const bytes = Buffer.from(text);
  writeFileAtomic(path.dirname(job.file), path.basename(job.file), bytes, 'the export file');
  return { file: job.file, bytes: bytes.length };
}
