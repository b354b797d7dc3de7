import { formatCents } from '../storefront/money.js'
import type { Movement } from './movements.js'

/** The wallet's movements as a table that scrolls on its own (never the page) on a narrow screen. */
export function MovementsTable({ movements, caption }: { movements: Movement[]; caption: string }) {
  return (
    <div className="table-scroll" role="region" aria-label={caption} tabIndex={0}>
      <table className="movements">
        <caption className="visually-hidden">{caption}</caption>
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
      </table>
    </div>
  )
}
