import { HOME } from './callback.tsx';
import { PageTitle } from './page-title.tsx';

export function NotFound() {
  return (
    <>
      <PageTitle>No such page</PageTitle>
      <p>
        The console has no page at <code>{location.pathname}</code>. Go to the <a href={HOME}>Overview</a>.
      </p>
    </>
  );
}
