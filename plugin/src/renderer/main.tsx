import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App.js'
import { ApiContext } from './perminute.js'
import './styles.css'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiContext.Provider value={window.perminute}>
      <App />
    </ApiContext.Provider>
  </StrictMode>,
)
