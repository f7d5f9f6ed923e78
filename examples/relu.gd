# A rectified linear unit: zero below the threshold w*x + c = 0, a line of slope a*w above.
model y = a*max(0, w*x + c)
loss mean((y - Y)^2)
