import { formatCents } from '../storefront/money.js'
import type { Movement } from './movements.js'
import { DataTable } from '../components/data-table.js'

/** The wallet's movements as a table that scrolls on its own (never the page) on a narrow screen. */
export function MovementsTable({ movements, caption }: { movements: Movement[]; caption: string }) {
  return (
    <DataTable caption={caption} className="movements">
      <thead>
        <tr>
          <th scope="col">Date (UTC)</th>
          <th scope="col">Reason</th>
          <th scope="col">Status</th>
          <th scope="col" className="amount">
            Amount
          </th>
        </tr>
      </thead>
      <tbody>
        {movements.map((movement) => (
          <tr key={movement.id}>
            <td>
              <time dateTime={movement.at}>
                {movement.at.slice(0, 10)}
                <br />
                {movement.at.slice(11, 16)}
              </time>
            </td>
            <td>{movement.reason}</td>
            <td>{movement.state}</td>
            <td className="amount">{movement.amountCents > 0 ? `+${formatCents(movement.amountCents)}` : formatCents(movement.amountCents)}</td>
          </tr>
        ))}
      </tbody>
    </DataTable>
  )
}
