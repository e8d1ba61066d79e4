// Package seg evaluates semantic segmentation as mmsegmentation's IoUMetric
// does: per image, pixels whose label is the ignore index are dropped, and
// histograms over the classes 0..C-1 of the correctly predicted pixels
// (intersection), of the prediction and of the label are added to dataset
// totals; values outside 0..C-1 fall out of the histograms, as with
// torch.histc. From the totals:
//
//	aAcc   = Σ_c I_c / Σ_c L_c              (pixel accuracy)
//	IoU_c  = I_c / (P_c + L_c - I_c)        (NaN when the class is neither predicted nor labelled)
//	Acc_c  = I_c / L_c                      (NaN when the class is not labelled)
//	mIoU, mAcc = np.nanmean over the classes (NaN classes left out)
//
// Counts are exact 64-bit integers. mmseg adds its per-image histograms as
// float32 tensors, which rounds once a class's total passes 2^24 pixels, so
// on large datasets its numbers can differ from these in the last digits;
// mmseg also prints percentages rounded to two decimals, while Result holds
// unrounded fractions.
package seg
