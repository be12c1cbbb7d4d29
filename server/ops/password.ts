import { StringDecoder } from 'node:string_decoder';
import { checkPasswordStrength, DirectoryError } from '../directory/index.ts';
import { Cancelled, type Terminal, UsageError } from './command.ts';

/**
 * A new password for `userName`, from one of the two places a password may
 * come from: the first line of stdin (`--password-stdin`, for scripts) or a
 * terminal prompt without echo, typed twice. Never from the command line,
 * where it would land in shell history and in every `ps` listing.
 */
export async function readNewPassword(terminal: Terminal, options: { fromStdin: boolean; userName: string }): Promise<string> {
  if (!terminal.stdin.isTTY) {
    if (!options.fromStdin) {
      throw new UsageError('no terminal to prompt for the password: pipe it in and add --password-stdin');
    }
    return readFirstLine(terminal.stdin);
  }
  // A slip of the finger in the second entry asks again rather than making
  // the operator start the command over; a few in a row are not a slip.
  for (let attempt = 1; ; attempt++) {
    const password = await askHidden(terminal, `New password for ${options.userName}: `);
    // Refuse a weak password now rather than after the operator typed it twice.
    checkPasswordStrength(password, options.userName);
    const again = await askHidden(terminal, 'Type it again: ');
    if (again === password) return password;
    if (attempt === CONFIRMATION_ATTEMPTS) {
      throw new DirectoryError('password_mismatch', 'password refused: the two entries do not match');
    }
    terminal.stderr.write('The two entries do not match; type the new password again.\n');
  }
}

const CONFIRMATION_ATTEMPTS = 3;

/**
 * Asks on the terminal and returns the line typed (echoed, as any answer
 * that is not a secret). Ctrl-C or Ctrl-D before Enter cancels.
 */
export async function askLine(terminal: Terminal, question: string): Promise<string> {
  const { stdin, stderr } = terminal;
  stdin.setEncoding('utf8');
  stderr.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const finish = (outcome: () => void) => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        outcome();
      };
      const onEnd = () => finish(() => reject(new Cancelled()));
      const onData = (chunk: string) => {
        typed += chunk;
        if (typed.includes('\u0003')) return finish(() => reject(new Cancelled()));
        const end = typed.search(/\r|\n/);
        if (end !== -1) finish(() => resolve(typed.slice(0, end)));
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    });
  } finally {
    stdin.pause();
  }
}

/** Everything up to the first line break (or the end); the line break is not part of the password. */
async function readFirstLine(stdin: Terminal['stdin']): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    const end = text.search(/\r?\n/);
    if (end !== -1) return text.slice(0, end);
  }
  return (text + decoder.end()).replace(/\r$/, '');
}

// Arrow keys and other escape sequences are not part of a password.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the terminal's ESC byte is the point
const ESCAPE_SEQUENCE = /\u001b(\[[0-9;?]*[ -/]*[@-~]|.)/gu;

/** Reads one line from the terminal in raw mode, so the characters are never echoed. */
async function askHidden(terminal: Terminal, question: string): Promise<string> {
  const { stdin, stderr } = terminal;
  // Raw mode before the prompt: what is typed once the prompt shows is never
  // echoed, and Ctrl-C reaches us as a character rather than killing the process mid-write.
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stderr.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const finish = (outcome: () => void) => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stderr.write('\n');
        outcome();
      };
      const onEnd = () => finish(() => reject(new Cancelled()));
      const onData = (chunk: string) => {
        for (const char of chunk.replace(ESCAPE_SEQUENCE, '')) {
          if (char === '\u0003' || (char === '\u0004' && typed === '')) return finish(() => reject(new Cancelled()));
          if (char === '\r' || char === '\n') return finish(() => resolve(typed));
          if (char === '\u007f' || char === '\b') typed = Array.from(typed).slice(0, -1).join('');
          else if (char === '\u0015') typed = '';
          else if (char >= ' ') typed += char;
        }
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
  }
}
