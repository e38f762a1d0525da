"""Reports: 月清月结, 双百, the channel table, the overdue review, sweep reports and exports."""
