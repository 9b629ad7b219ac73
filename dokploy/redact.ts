/**
 * The text with the credentials of every URL in it replaced by ***, for
 * whatever the deploy tooling prints or writes: KOMMIT_GIT_URL may carry a
 * token (https://<token>@github.com/..., https://oauth2:<token>@gitlab...),
 * and Dokploy's build logs and error texts echo the clone URL.
 *
 * Over http(s) and anything else the whole user part goes, since a token is
 * often the user name itself. Only an ssh user name without a password stays
 * (ssh://git@host/...): it names an account, it is not a secret. A user part
 * may hold a raw @ (a careless password), so the last @ before the host ends it.
 */
export function redactCredentials(text: string) {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>\\]+)@/gi, (whole, scheme: string, userinfo: string) => {
    if (/^(ssh|git\+ssh|ssh\+git):\/\/$/i.test(scheme) && !/[:@]/.test(userinfo)) return whole;
    return `${scheme}***@`;
  });
}
