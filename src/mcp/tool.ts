/**
 * How a tool is declared: schema, annotations and handler side by side, in one file per tool.
 * `registerTools` wraps every handler the same way: it returns the result both as
 * structuredContent (checked against the output schema) and as JSON text, and turns errors
 * into tool errors whose message tells the model what to fix — never a stack trace.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { ConfigError, isSageError, UnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import type { Scope } from '../auth/tenant.ts';
import type { Caller, MemoryService } from '../memory/service.ts';
import { toolScope } from './access.ts';

/** What a tool handler may use: the service and the connection's caller and session. */
export interface ToolContext {
  service: MemoryService;
  caller(): Caller;
  /** What the caller may do (every scope over stdio; the token's over HTTP). */
  scopes: ReadonlySet<Scope>;
  /** Sets (or clears) the connection's current session. */
  setSession(id: string | undefined): void;
}

export interface ToolDefinition<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  handler(args: z.output<z.ZodObject<I>>, ctx: ToolContext): Promise<z.output<z.ZodObject<O>>>;
}

/** Identity function that lets TypeScript infer a definition's schema types. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}

export function errorMessage(err: unknown, tool: string): string {
  if (isSageError(err)) {
    // The caller's mistakes are the caller's to read; a database down or misconfigured is also
    // the operator's, who reads the log (no stack: the message says what to fix).
    if (err instanceof UnavailableError || err instanceof ConfigError) log.warn('tool failed', { tool, error: err.message });
    return err.message;
  }
  log.error('tool failed', { tool, error: err, stack: err instanceof Error ? err.stack : undefined });
  return 'Sage hit an internal error while doing this; it is recorded in the server log. Try again, and report it if it persists.';
}

/**
 * Object schemas built once per definition: given a raw shape, the SDK builds a z.object for
 * every registration, and stateless HTTP registers every tool for every request. The schemas
 * are immutable, so sharing them between servers shares nothing of a caller.
 */
const objectSchemas = new WeakMap<object, { input: z.ZodObject; output: z.ZodObject }>();

function schemasOf(def: ToolDefinition<z.ZodRawShape, z.ZodRawShape>): { input: z.ZodObject; output: z.ZodObject } {
  let schemas = objectSchemas.get(def);
  if (!schemas) objectSchemas.set(def, (schemas = { input: z.object(def.inputSchema), output: z.object(def.outputSchema) }));
  return schemas;
}

export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(server: McpServer, def: ToolDefinition<I, O>, ctx: ToolContext): void {
  const schemas = schemasOf(def as unknown as ToolDefinition<z.ZodRawShape, z.ZodRawShape>);
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema: schemas.input,
      outputSchema: schemas.output,
      annotations: { title: def.title, ...def.annotations },
    },
    // The SDK has already validated args against inputSchema.
    (async (args: z.output<z.ZodObject<I>>) => {
      const needed = toolScope(def.name, args);
      if (!ctx.scopes.has(needed)) {
        return { content: [{ type: 'text' as const, text: `${def.name} needs the ${needed} scope, which this token does not grant` }], isError: true };
      }
      try {
        const out = await def.handler(args, ctx);
        return { content: [{ type: 'text' as const, text: JSON.stringify(out) }], structuredContent: out as Record<string, unknown> };
      } catch (err) {
        return { content: [{ type: 'text' as const, text: errorMessage(err, def.name) }], isError: true };
      }
    }) as never,
  );
}
