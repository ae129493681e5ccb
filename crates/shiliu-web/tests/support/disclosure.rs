//! What a reader can work out from statistics pages put side by side: which withheld cells
//! come back by linear combination of every figure they show. Shared by the web crate's test
//! of nested pages and the binary's test over the whole demo.

/// A statistics page as a reader sees it: the residents, and per section the rows (label,
/// figure or withheld); whether the breakdowns are rounded (the page says so).
pub struct SeenPage {
    pub residents: i64,
    pub sections: std::collections::HashMap<String, Vec<(String, Option<i64>)>>,
    pub rounded: bool,
}

pub fn seen_page(html: &str) -> SeenPage {
    let residents = html
        .split("<dt>在住人数</dt><dd>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.parse().ok())
        .expect("the residents");
    let mut sections = std::collections::HashMap::new();
    for part in html.split("<h2>").skip(1) {
        let title = part.split('<').next().unwrap_or_default().to_string();
        let body = part.split("</section>").next().unwrap_or_default();
        let Some(rows) = body.split("<tbody>").nth(1) else {
            continue;
        };
        let rows = rows
            .split("<tr><td>")
            .skip(1)
            .map(|r| {
                let label = r.split("</td>").next().unwrap_or_default().to_string();
                let cell = r.split("</td><td>").nth(1).unwrap_or_default();
                (label, cell.split('<').next().and_then(|v| v.parse().ok()))
            })
            .collect();
        sections.insert(title, rows);
    }
    SeenPage {
        residents,
        sections,
        rounded: html.contains("四舍五入"),
    }
}

/// Which of `targets` (region, 民族) can be computed exactly, by any linear combination, from
/// what the pages show: each region's residents; each exact figure of its breakdown by 民族
/// (a rounded one is not exact); zeros for the categories a page lists none of (when it lists
/// no withheld row, every category not listed is none); and that a region's figure is the sum
/// of its children's, where the children's residents add up to it. `children`: (parent, child).
pub fn recoverable(
    pages: &[(&str, &SeenPage)],
    children: &[(&str, &str)],
    targets: &[(&str, &str)],
    as_exact: bool,
) -> Vec<(String, String)> {
    const REST: &str = "(not listed)";
    let mut kinds: Vec<String> = pages
        .iter()
        .flat_map(|(_, p)| p.sections.get("按民族").into_iter().flatten())
        .map(|(l, _)| l.clone())
        .chain(targets.iter().map(|(_, k)| (*k).to_string()))
        .chain([REST.to_string()])
        .collect();
    kinds.sort();
    kinds.dedup();
    let var = |region: &str, kind: &str| {
        let r = pages.iter().position(|(n, _)| *n == region).unwrap();
        r * kinds.len() + kinds.iter().position(|k| k == kind).unwrap()
    };
    let width = pages.len() * kinds.len() + 1;
    let mut rows: Vec<Vec<i128>> = Vec::new();
    let mut equation = |terms: &[(usize, i128)], value: i128| {
        let mut row = vec![0_i128; width];
        for (v, c) in terms {
            row[*v] += c;
        }
        row[width - 1] = value;
        rows.push(row);
    };
    for (name, page) in pages {
        let listed = page.sections.get("按民族").cloned().unwrap_or_default();
        let all: Vec<(usize, i128)> = kinds.iter().map(|k| (var(name, k), 1)).collect();
        equation(&all, i128::from(page.residents));
        let withheld_row = listed
            .iter()
            .any(|(l, v)| v.is_none() && !kinds.contains(l))
            || listed.iter().any(|(l, _)| l.contains("合并"));
        for (label, value) in &listed {
            if let (Some(v), true) = (value, as_exact || !page.rounded) {
                equation(&[(var(name, label), 1)], i128::from(*v));
            }
        }
        if !withheld_row {
            for k in kinds
                .iter()
                .filter(|k| !listed.iter().any(|(l, _)| l == *k))
            {
                equation(&[(var(name, k), 1)], 0);
            }
        }
    }
    for (parent, child_names) in children.iter().fold(
        std::collections::BTreeMap::<&str, Vec<&str>>::new(),
        |mut m, (p, c)| {
            m.entry(p).or_default().push(c);
            m
        },
    ) {
        let total = |n: &str| pages.iter().find(|(x, _)| *x == n).unwrap().1.residents;
        if total(parent) != child_names.iter().map(|c| total(c)).sum::<i64>() {
            continue;
        }
        for k in &kinds {
            let mut terms = vec![(var(parent, k), 1)];
            terms.extend(child_names.iter().map(|c| (var(c, k), -1)));
            equation(&terms, 0);
        }
    }
    let determined = determined(rows, width - 1);
    targets
        .iter()
        .filter(|(region, kind)| determined.contains(&var(region, kind)))
        .map(|(r, k)| ((*r).to_string(), (*k).to_string()))
        .collect()
}

/// The unknowns a system of exact linear equations fixes: each row holds the coefficients of
/// `unknowns` variables and then its constant. Reduced row echelon form over the integers (each
/// row kept divided by its gcd); a variable is determined when its pivot row holds no other.
fn determined(mut rows: Vec<Vec<i128>>, unknowns: usize) -> Vec<usize> {
    let gcd = |a: i128, b: i128| {
        let (mut a, mut b) = (a.abs(), b.abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut pivots = Vec::new();
    let mut r = 0;
    for col in 0..unknowns {
        let Some(p) = (r..rows.len()).find(|&i| rows[i][col] != 0) else {
            continue;
        };
        rows.swap(r, p);
        for i in 0..rows.len() {
            if i != r && rows[i][col] != 0 {
                let (a, b) = (rows[r][col], rows[i][col]);
                let next: Vec<i128> = (0..=unknowns)
                    .map(|j| rows[i][j] * a - rows[r][j] * b)
                    .collect();
                let g = next.iter().fold(0, |g, x| gcd(g, *x)).max(1);
                rows[i] = next.into_iter().map(|x| x / g).collect();
            }
        }
        pivots.push((r, col));
        r += 1;
    }
    pivots
        .into_iter()
        .filter(|(row, col)| (0..unknowns).all(|j| j == *col || rows[*row][j] == 0))
        .map(|(_, col)| col)
        .collect()
}

/// Whether a page's breakdown by 户籍地 gives away what its withheld counties of `province`
/// hold: from the residents, the provinces and the counties shown (exact only when the page
/// does not round, or `as_exact`), each province being the sum of its counties.
pub fn hukou_rest_recoverable(page: &SeenPage, province: &str, as_exact: bool) -> bool {
    let provinces = page
        .sections
        .get("按户籍地（省）")
        .cloned()
        .unwrap_or_default();
    let counties = page
        .sections
        .get("按户籍地（县）")
        .cloned()
        .unwrap_or_default();
    let exact = as_exact || !page.rounded;
    let together = |rows: &[(String, Option<i64>)]| rows.iter().any(|(l, _)| l.contains("合并"));
    let named = |rows: &[(String, Option<i64>)]| -> Vec<(String, Option<i64>)> {
        rows.iter()
            .filter(|(l, _)| !l.contains("合并"))
            .cloned()
            .collect()
    };
    let (provs, counts) = (named(&provinces), named(&counties));
    // Unknowns: each province, per province the counties not named, each county named, and the
    // provinces not named.
    let n = provs.len() * 2 + counts.len() + 1;
    let rest_var = |i: usize| provs.len() + i;
    let county_var = |j: usize| provs.len() * 2 + j;
    let other_provinces = n - 1;
    let row = |terms: &[(usize, i128)], value: i128| {
        let mut r = vec![0_i128; n + 1];
        for (v, c) in terms {
            r[*v] += c;
        }
        r[n] = value;
        r
    };
    let mut rows = Vec::new();
    let mut total: Vec<(usize, i128)> = (0..provs.len()).map(|i| (i, 1)).collect();
    total.push((other_provinces, 1));
    rows.push(row(&total, i128::from(page.residents)));
    if !together(&provinces) {
        rows.push(row(&[(other_provinces, 1)], 0));
    }
    for (i, (p, v)) in provs.iter().enumerate() {
        let mut terms = vec![(i, 1), (rest_var(i), -1)];
        for (j, (c, _)) in counts.iter().enumerate() {
            if c.starts_with(p.as_str()) {
                terms.push((county_var(j), -1));
            }
        }
        rows.push(row(&terms, 0));
        if !together(&counties) {
            rows.push(row(&[(rest_var(i), 1)], 0));
        }
        if let (Some(v), true) = (v, exact) {
            rows.push(row(&[(i, 1)], i128::from(*v)));
        }
    }
    for (j, (_, v)) in counts.iter().enumerate() {
        if let (Some(v), true) = (v, exact) {
            rows.push(row(&[(county_var(j), 1)], i128::from(*v)));
        }
    }
    let Some(i) = provs.iter().position(|(p, _)| p == province) else {
        return false;
    };
    let fixed = determined(rows, n);
    // The province's withheld counties: each, where a page names them; else all together.
    let withheld: Vec<usize> = counts
        .iter()
        .enumerate()
        .filter(|(_, (c, v))| v.is_none() && c.starts_with(province))
        .map(|(j, _)| county_var(j))
        .collect();
    if withheld.is_empty() {
        fixed.contains(&rest_var(i))
    } else {
        withheld.iter().any(|v| fixed.contains(v))
    }
}
