//! Roles and the permission matrix: the one place that says who may do what.
//!
//! What a user may *see* is decided in three places only: here (may this role use this
//! capability at all?), in `shiliu-db`'s scope module (which rows, by region subtree), and, for
//! work assigned to a person, by the assignment (`casework`: a lawyer's cases, a mediator's
//! disputes; `evaluation::access`: a reviewer's teams, a unit's own sheet).

use crate::code_enum;

code_enum! {
    /// A user's role. Stored as its code; shown through the catalogue key `role.<code>`.
    pub enum Role {
        SystemAdmin = "system_admin",
        CommissionStaff = "commission_staff",
        TownshipStaff = "township_staff",
        GridWorker = "grid_worker",
        SiteStaff = "site_staff",
        LegalAid = "legal_aid",
        Evaluator = "evaluator",
        UnitReporter = "unit_reporter",
        Leader = "leader",
    }
}

code_enum! {
    /// A capability. Handlers ask for one; the matrix below grants it per role.
    pub enum Permission {
        /// See the region tree, grids, sites and units within one's scope.
        ViewOrg = "view_org",
        /// Create and edit communities, villages and grids (below townships).
        ManageRegions = "manage_regions",
        ManageSites = "manage_sites",
        ManageUnits = "manage_units",
        /// Create users, reset passwords, disable accounts, attach grid workers to grids.
        ManageUsers = "manage_users",
        /// Browse and export the audit log.
        ViewAudit = "view_audit",
        /// Issue API tokens for integrations (limited to one's own permissions and scope).
        ManageApiTokens = "manage_api_tokens",
        /// See requests (诉求) within one's scope.
        ViewRequests = "view_requests",
        /// Take a request in: hotline, grid, walk-in desk.
        CreateRequests = "create_requests",
        /// Dispatch (派单), record the callback rating (回访), reopen and close.
        DispatchRequests = "dispatch_requests",
        /// Accept or return, handle, transfer, resolve.
        HandleRequests = "handle_requests",
        /// 就地办结: take a simple request in one's own grids and resolve it on the spot, in
        /// categories set to allow it. Only an account scoped to grids uses it (`shiliu-db`
        /// checks the grids and the category); those who appoint grid workers hold it so that
        /// they may hand it out.
        ResolveOnTheSpot = "resolve_on_the_spot",
        /// Edit request categories and their service levels, and the working calendar.
        ManageRequestSettings = "manage_request_settings",
        /// See the migrant registry within one's scope, ID numbers masked.
        ViewRegistry = "view_registry",
        /// Register people, correct and move them, verify self-declarations (核验).
        EditRegistry = "edit_registry",
        /// See a whole ID number; every such view is audited.
        RevealIdNumbers = "reveal_id_numbers",
        /// See the people registered elsewhere whose 户籍地 is in one's region (流出地联动).
        ViewOutMigrants = "view_out_migrants",
        /// Ask the other side of 流出地联动 about a person (协查 / 协助) and answer what it asks.
        ExchangeAssists = "exchange_assists",
        /// Start and close needs surveys (就业需求摸排) over one's region.
        ManageSurveys = "manage_surveys",
        /// Import a register from Excel or CSV into one's region.
        ImportRegistry = "import_registry",
        /// Run performance evaluations (绩效考评) over one's region: schemes, indicators, units,
        /// stages and deadlines.
        ManageEvaluations = "manage_evaluations",
        /// Score the units one's review teams are assigned, online or on site (核验).
        ReviewEvaluations = "review_evaluations",
        /// Self-assess one's own unit in the evaluations it takes part in (自查自评).
        ReportEvaluations = "report_evaluations",
        /// Follow the evaluations run over one's region without a part in them: how far each
        /// has got, and its results once published (通报).
        ViewEvaluations = "view_evaluations",
        /// Read the work plans of one's region, their tasks and ledgers (任务清单 · 工作台账).
        ViewTasks = "view_tasks",
        /// Draw up work plans over one's region: phases, the task decomposition and the units
        /// it is handed to; inspections and rectification.
        ManageTasks = "manage_tasks",
        /// Report one's own unit's progress on the tasks it is handed (工作台账), and, as a
        /// lead unit, confirm or return what the others report.
        ReportTasks = "report_tasks",
        /// Read the activities, trainings and their progress against targets of one's region
        /// (宣传教育 · "十进").
        ViewActivities = "view_activities",
        /// Record the activities and trainings held in one's region, with their photos, and
        /// correct one's own records.
        LogActivities = "log_activities",
        /// Keep the activity lists (kinds, materials, audiences), set the units' yearly targets,
        /// import records from Excel and correct or remove anyone's record.
        ManageActivities = "manage_activities",
        /// Read the consultation councils of one's region (or of the community just above
        /// one's grids): members, meetings, items, decisions and their follow-up.
        ViewCouncils = "view_councils",
        /// Run a council: its members and rhythm, meetings and minutes, decisions, follow-up,
        /// and an item handed to the requests loop.
        RunCouncils = "run_councils",
        /// Bring a resident's item to a council (a grid worker from their rounds).
        RaiseCouncilItems = "raise_council_items",
    }
}

impl Role {
    /// The permission matrix.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::{
            CreateRequests, DispatchRequests, EditRegistry, ExchangeAssists, HandleRequests,
            ImportRegistry, LogActivities, ManageActivities, ManageApiTokens, ManageEvaluations,
            ManageRegions, ManageRequestSettings, ManageSites, ManageSurveys, ManageTasks,
            ManageUnits, ManageUsers, RaiseCouncilItems, ReportEvaluations, ReportTasks,
            ResolveOnTheSpot, RevealIdNumbers, ReviewEvaluations, RunCouncils, ViewActivities,
            ViewAudit, ViewCouncils, ViewEvaluations, ViewOrg, ViewOutMigrants, ViewRegistry,
            ViewRequests, ViewTasks,
        };
        match self {
            Role::SystemAdmin => &[
                ViewOrg,
                ManageRegions,
                ManageSites,
                ManageUnits,
                ManageUsers,
                ViewAudit,
                ManageApiTokens,
                ViewRequests,
                CreateRequests,
                DispatchRequests,
                HandleRequests,
                ResolveOnTheSpot,
                ManageRequestSettings,
                ViewRegistry,
                EditRegistry,
                RevealIdNumbers,
                ViewOutMigrants,
                ExchangeAssists,
                ManageSurveys,
                ImportRegistry,
                ManageEvaluations,
                ReviewEvaluations,
                ViewEvaluations,
                ViewTasks,
                ManageTasks,
                ViewActivities,
                LogActivities,
                ManageActivities,
                ViewCouncils,
                RunCouncils,
                RaiseCouncilItems,
            ],
            Role::CommissionStaff => &[
                ViewOrg,
                ManageRegions,
                ManageSites,
                ManageUnits,
                ManageUsers,
                ManageApiTokens,
                ViewRequests,
                CreateRequests,
                DispatchRequests,
                HandleRequests,
                ResolveOnTheSpot,
                ManageRequestSettings,
                ViewRegistry,
                EditRegistry,
                RevealIdNumbers,
                ViewOutMigrants,
                ExchangeAssists,
                ManageSurveys,
                ImportRegistry,
                ManageEvaluations,
                ReviewEvaluations,
                ViewEvaluations,
                ViewTasks,
                ManageTasks,
                ViewActivities,
                LogActivities,
                ManageActivities,
                ViewCouncils,
                RunCouncils,
                RaiseCouncilItems,
            ],
            Role::TownshipStaff => &[
                ViewOrg,
                ManageRegions,
                ManageSites,
                ViewRequests,
                CreateRequests,
                DispatchRequests,
                HandleRequests,
                ViewRegistry,
                EditRegistry,
                RevealIdNumbers,
                ViewOutMigrants,
                ExchangeAssists,
                ManageSurveys,
                ImportRegistry,
                ViewActivities,
                LogActivities,
                ViewCouncils,
                RunCouncils,
                RaiseCouncilItems,
            ],
            // Grid workers check a declaration against the card in front of them, and resolve
            // simple requests in their grids on the spot (就地办结), as Beihai's do.
            Role::GridWorker => &[
                ViewOrg,
                ViewRequests,
                CreateRequests,
                ResolveOnTheSpot,
                ViewRegistry,
                EditRegistry,
                RevealIdNumbers,
                ExchangeAssists,
                ViewActivities,
                LogActivities,
                ViewCouncils,
                RaiseCouncilItems,
            ],
            // Migrant service stations take registrations (居住登记) over the counter.
            Role::SiteStaff => &[
                ViewOrg,
                ViewRequests,
                CreateRequests,
                HandleRequests,
                ViewRegistry,
                EditRegistry,
                ViewActivities,
                LogActivities,
                ViewCouncils,
                RaiseCouncilItems,
            ],
            Role::LegalAid => &[ViewOrg, ViewRequests, HandleRequests],
            Role::Leader => &[
                ViewOrg,
                ViewRequests,
                ViewRegistry,
                ViewTasks,
                ViewEvaluations,
                ViewActivities,
                ViewCouncils,
            ],
            Role::Evaluator => &[ViewOrg, ReviewEvaluations],
            // A unit's reporter records what their unit held: its activities count towards the unit's
            // targets.
            Role::UnitReporter => &[
                ViewOrg,
                ReportEvaluations,
                ReportTasks,
                ViewActivities,
                LogActivities,
            ],
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Leaders read, and act through others: what they start from is the dashboard, whose
    /// "needs attention" list is their to-do.
    pub fn starts_on_dashboard(self) -> bool {
        self == Role::Leader
    }

    /// Grid workers' data scope is their grids rather than their region's subtree.
    pub fn scoped_to_grids(self) -> bool {
        self == Role::GridWorker
    }

    /// Roles a user with `self` may hand out: never more than one's own permissions.
    pub fn may_assign(self, other: Role) -> bool {
        self.allows(Permission::ManageUsers) && other.permissions().iter().all(|p| self.allows(*p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_rules() {
        for r in Role::ALL {
            assert!(r.allows(Permission::ViewOrg), "{r:?} sees its own scope");
        }
        assert!(Role::SystemAdmin.allows(Permission::ViewAudit));
        assert!(!Role::CommissionStaff.allows(Permission::ViewAudit));
        assert!(
            !Role::Leader.allows(Permission::ManageSites),
            "leaders are read-only"
        );
        assert!(!Role::GridWorker.allows(Permission::ManageUsers));
        assert!(Role::SystemAdmin.may_assign(Role::SystemAdmin));
        assert!(!Role::CommissionStaff.may_assign(Role::SystemAdmin));
        assert!(Role::CommissionStaff.may_assign(Role::GridWorker));
        assert!(!Role::TownshipStaff.may_assign(Role::GridWorker));
        // On the spot is the grid worker's: a site or township handles through the loop.
        assert!(Role::GridWorker.allows(Permission::ResolveOnTheSpot));
        assert!(!Role::GridWorker.allows(Permission::HandleRequests));
        for r in [
            Role::TownshipStaff,
            Role::SiteStaff,
            Role::LegalAid,
            Role::Leader,
        ] {
            assert!(!r.allows(Permission::ResolveOnTheSpot), "{r:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
