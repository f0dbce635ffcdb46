import { defineBrowserProvider } from '@vitest/browser';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import type { BrowserCommand, BrowserCommandContext, BrowserProvider, BrowserProviderOption, TestProject } from 'vitest/node';

/**
 * A Vitest browser provider for a stock Firefox (Debian's firefox-esr), driven over WebDriver BiDi
 * by puppeteer-core: Playwright drives only its own patched Firefox builds, and none can be
 * downloaded here.
 *
 * As Playwright's provider does, it launches one browser for the project and gives each Vitest
 * session a browser context of its own (a BiDi user context: its own cookies and storage) with one
 * page, where Vitest's orchestrator then runs the test files. It has no module mocker (vi.mock of
 * a module is not used by these tests) and runs one session at a time.
 */
export interface FirefoxProviderOptions {
  executablePath: string;
}

export function firefox(options: FirefoxProviderOptions): BrowserProviderOption {
  return defineBrowserProvider<FirefoxProviderOptions>({
    name: 'firefox-bidi',
    supportedBrowser: ['firefox'],
    options,
    providerFactory: (project: TestProject) => new FirefoxProvider(project, options),
  });
}

interface Viewport {
  width: number;
  height: number;
}

export class FirefoxProvider implements BrowserProvider {
  readonly name = 'firefox-bidi';
  // One page at a time: without a mocker Vitest runs such a project on its own anyway.
  readonly supportsParallelism = false;
  private browser: Promise<Browser> | undefined;
  private readonly contexts = new Map<string, BrowserContext>();
  private readonly pages = new Map<string, Page>();
  private closing = false;

  constructor(
    private readonly project: TestProject,
    private readonly options: FirefoxProviderOptions,
  ) {
    // The one provider command Vitest's orchestrator calls by itself, before every file. Internal
    // commands are not in the typed BrowserCommands, so it is registered as Playwright's provider
    // registers its own, by name.
    const register = project.browser?.registerCommand as ((name: string, command: BrowserCommand<[Viewport]>) => void) | undefined;
    register?.call(project.browser, '__vitest_viewport', async (ctx, size) => {
      await this.page(ctx.sessionId).setViewport(size);
    });
  }

  private launch(): Promise<Browser> {
    this.browser ??= puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: this.options.executablePath,
      headless: this.project.config.browser.headless,
    });
    return this.browser;
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    if (this.closing) throw new Error('[firefox-bidi] the provider was closed');
    await this.pages.get(sessionId)?.close();
    this.pages.delete(sessionId);
    let context = this.contexts.get(sessionId);
    if (context === undefined) {
      context = await (await this.launch()).createBrowserContext();
      this.contexts.set(sessionId, context);
    }
    const page = await context.newPage();
    this.pages.set(sessionId, page);
    await page.goto(url, { timeout: 0 });
  }

  /** The page a session's tests run in. */
  page(sessionId: string): Page {
    const page = this.pages.get(sessionId);
    if (page === undefined) throw new Error(`[firefox-bidi] no page for session ${sessionId}`);
    return page;
  }

  getCommandsContext(): Record<string, unknown> {
    // Commands reach the page through firefoxPageOf(ctx), typed, rather than through ctx.page,
    // which the Playwright provider's types declare as a Playwright Page.
    return {};
  }

  async close(): Promise<void> {
    this.closing = true;
    const browser = this.browser;
    this.browser = undefined;
    const pages = [...this.pages.values()];
    const contexts = [...this.contexts.values()];
    this.pages.clear();
    this.contexts.clear();
    // A launch that failed has already failed the session that asked for it.
    const launched = await browser?.catch(() => undefined);
    if (launched === undefined) return;
    await Promise.allSettled(pages.map((page) => page.close()));
    await Promise.allSettled(contexts.map((context) => context.close()));
    await launched.close();
  }
}

/** The Firefox page a command was called from, when the command runs under this provider. */
export function firefoxPageOf(ctx: BrowserCommandContext): Page | undefined {
  return ctx.provider instanceof FirefoxProvider ? ctx.provider.page(ctx.sessionId) : undefined;
}
