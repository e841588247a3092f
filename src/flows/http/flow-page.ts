import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Injectable, NotFoundException, StreamableFile } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

/**
 * The page's route constraint: a browser's navigation asks for HTML first (`Accept: text/html,…`),
 * a program for JSON or anything (`*\/*`). Registered on Fastify's router (registerPageConstraint),
 * which derives it for every request once a route uses it: one look at the Accept header.
 */
export const PAGE_REQUEST = { page: 'html' };

type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type RouteHandler = NonNullable<ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>;

export const pageConstraintStrategy: ConstraintStrategy = {
  name: 'page',
  storage() {
    const handlers = new Map<unknown, RouteHandler>();
    return { get: (value) => handlers.get(value) ?? null, set: (value, handler) => void handlers.set(value, handler) };
  },
  deriveConstraint(request) {
    const accept = request.headers.accept;
    return typeof accept === 'string' && accept.startsWith('text/html') ? 'html' : undefined;
  },
  mustMatchWhenDerived: false,
};

const PAGE_FOLDER = path.join(__dirname, '..', 'page');

/** The files the page is made of, read once at start, with their media types. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'flow-page.js': { file: path.join(PAGE_FOLDER, 'flow-page.js'), type: 'text/javascript; charset=utf-8' },
  'flow-page.css': { file: path.join(PAGE_FOLDER, 'flow-page.css'), type: 'text/css; charset=utf-8' },
  // Cytoscape's own ES module build, served from node_modules: no CDN, works offline.
  'cytoscape.esm.min.mjs': { file: path.join(path.dirname(require.resolve('cytoscape')), 'cytoscape.esm.min.mjs'), type: 'text/javascript; charset=utf-8' },
};

/**
 * The page that draws a flow (src/flows/page): one HTML shell for every flow and for the search
 * page; its script reads the correlation id from the address, asks for a bearer token (kept in
 * the tab's sessionStorage, like Swagger UI's Authorize), fetches GET /flows/{correlationId} as
 * JSON with it, and draws the graph with Cytoscape. The shell holds no data, so it needs no token.
 */
@Injectable()
export class FlowPage {
  readonly html = readFileSync(path.join(PAGE_FOLDER, 'flow-page.html'), 'utf8');
  private readonly assets = new Map(Object.entries(ASSETS).map(([name, { file, type }]) => [name, { content: readFileSync(file), type }]));

  /** A file of the page; 404 for any other name. */
  asset(name: string): StreamableFile {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException({ code: 'NOT_FOUND', message: `the flow page has no file ${name}` });
    return new StreamableFile(asset.content, { type: asset.type, length: asset.content.length });
  }
}
