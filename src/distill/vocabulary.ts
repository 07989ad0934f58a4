// Whether a teacher's and a student's next-token distributions can be compared: logit KD and GKD
// take a divergence between two distributions over ONE vocabulary, position by position, so token
// id i must mean the same string to both models (and both must read the same ids). Text modes
// (trace-sft, answer-sft) re-encode the teacher's text with the student's tokenizer and need nothing.
import type { Tokenizer } from '../tokenizer/index.js';

/** Distillation settings that cannot work (e.g. logit KD between different vocabularies). */
export class DistillError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistillError';
  }
}

/** The first difference between two vocabularies (id → token string), or null when they are the same. */
export function vocabularyDifference(teacher: Tokenizer, student: Tokenizer): string | null {
  if (teacher.vocabSize !== student.vocabSize) return `the teacher's vocabulary has ${teacher.vocabSize} tokens, the student's ${student.vocabSize}`;
  for (let id = 0; id < teacher.vocabSize; id++) {
    const a = teacher.tokenOf(id), b = student.tokenOf(id);
    if (a !== b) return `token id ${id} is ${JSON.stringify(a)} to the teacher and ${JSON.stringify(b)} to the student`;
  }
  return null;
}

/** Throws a DistillError saying why, unless `mode` can run between these tokenizers. */
export function checkVocabularies(mode: string, teacher: Tokenizer, student: Tokenizer, where = { teacher: 'teacher', student: 'student' }): void {
  if (mode !== 'logit-kd' && mode !== 'gkd') return;
  const diff = vocabularyDifference(teacher, student);
  if (!diff) return;
  throw new DistillError(
    `${mode} needs the teacher (${where.teacher}) and the student (${where.student}) to share one tokenizer, but ${diff}: ` +
      `${mode} compares their next-token distributions position by position, and distributions over different vocabularies ` +
      `(and different tokenizations of the same text) cannot be compared. Use a student with the teacher's tokenizer ` +
      `(pretrain it with tokenizer.path set to the teacher's directory), or a text mode (trace-sft, answer-sft), which re-encodes the teacher's text.`,
  );
}
