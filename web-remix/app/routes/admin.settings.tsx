import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { readPlatformSettings, SETTING_DEFINITIONS, SettingsInputError, updatePlatformSettings, type PlatformSettings } from '../../../activities/settings.js'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { requireAdmin } from '../backoffice/admin-access.server.js'
import { AdminNav } from '../backoffice/portal-nav.js'
import { Field, FormError } from '../components/field.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Settings · Admin · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context)
  const { db, config } = servicesFrom(context)
  return { settings: await readPlatformSettings(db, config), definitions: SETTING_DEFINITIONS.map(({ key, label, unit, min, max }) => ({ key, label, unit, min, max })) }
}

type Result = { ok: true; message: string; problems?: undefined } | { ok: false; error: string; problems: Record<string, string> }

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const { db, config } = servicesFrom(context)
  const changes: Partial<PlatformSettings> = {}
  const problems: Record<string, string> = {}
  for (const d of SETTING_DEFINITIONS) {
    const raw = String(formData.get(d.key) ?? '').trim()
    if (!/^\d{1,12}$/.test(raw)) problems[d.key] = 'must be a whole number'
    else changes[d.key] = Number(raw)
  }
  if (Object.keys(problems).length > 0) return data<Result>({ ok: false, error: 'Some settings are not valid.', problems }, { status: 400 })
  try {
    const { changed } = await updatePlatformSettings(db, config, changes, { channel: 'web', actorId: admin.id, origin: { clientAddress: context.clientAddress ?? null } })
    return data<Result>({ ok: true, message: changed.length ? `Saved ${changed.length} change(s). They apply to calls that start from now on.` : 'Nothing changed.' })
  } catch (error) {
    if (error instanceof SettingsInputError) return data<Result>({ ok: false, error: 'Some settings are not valid.', problems: error.problems as Record<string, string> }, { status: 400 })
    throw error
  }
}

export default function AdminSettings() {
  const { settings, definitions } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <>
      <AdminNav />
      <h1>Platform settings</h1>
      <p>Changes are audited and apply to calls that start after them; calls in progress keep the settings they started with.</p>
      {result?.ok && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <FormError message={result && !result.ok ? result.error : null} />
      <Form method="post" className="stack">
        <CsrfInput />
        {definitions.map((d) => (
          <Field
            key={d.key}
            label={`${d.label} (${d.unit})`}
            name={d.key}
            type="number"
            min={d.min}
            max={d.max}
            step={1}
            required
            defaultValue={settings[d.key]}
            error={result && !result.ok ? result.problems[d.key] : null}
          />
        ))}
        <div>
          <button type="submit">Save settings</button>
        </div>
      </Form>
    </>
  )
}
